//! Writing the ZIP of a person's copy, as a stream: each kind's rows go from the database
//! through one buffer into the archive's JSON entry and, beside it, a CSV draft that is copied
//! into the archive after; files are copied from the blob store. Every entry is hashed as it is
//! written, for the manifest.

use crate::App;
use askama::Template;
use hearth_core::catalog::Column;
use hearth_core::export::{self, Kind, Shown};
use hearth_core::{Timestamp, UserId};
use hearth_store::{ExportRecord, ExportRow, Range, Sealer};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

/// One file of the archive, as the manifest lists it.
#[derive(serde::Serialize)]
struct Entry {
    path: String,
    bytes: u64,
    sha256: String,
}

/// One kind of data, as the index page lists it.
struct KindSummary {
    name: &'static str,
    description: &'static str,
    rows: u64,
    schema: String,
    /// Column name and what it means.
    columns: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "export/index.html")]
struct IndexPage<'a> {
    username: &'a str,
    made_at: String,
    range: String,
    kinds: &'a [KindSummary],
    files: &'a [String],
    /// The person's profile answers: community, question, answer.
    answers: &'a [(String, String, String)],
}

/// A writer that hashes and counts what passes through it into the archive's current entry.
struct Hashing<'a, W: Write> {
    inner: &'a mut W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The archive being written, with the entries written so far.
struct Archive {
    zip: ZipWriter<File>,
    entries: Vec<Entry>,
    /// Files the person had that could not be read (removed since): named in the manifest.
    missing: Vec<String>,
}

impl Archive {
    /// Writes one entry with `fill`.
    fn entry(
        &mut self,
        path: &str,
        fill: impl FnOnce(&mut (dyn Write + Send)) -> std::io::Result<()>,
    ) -> Result<(), String> {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            // The fastest level: the copy is made while its person waits, and text this
            // repetitive shrinks well even so.
            .compression_level(Some(1))
            .unix_permissions(0o600)
            .large_file(true);
        // Errors name no path: a file's name is its person's data.
        self.zip
            .start_file(path, options)
            .map_err(|e| format!("the copy's archive refused a file: {e}"))?;
        let mut hashing = Hashing {
            inner: &mut self.zip,
            hasher: Sha256::new(),
            bytes: 0,
        };
        // Rows arrive a value at a time; the hash and the deflater work best on large
        // slices, so they are gathered here first.
        let mut buffered = BufWriter::with_capacity(64 * 1024, &mut hashing);
        fill(&mut buffered)
            .and_then(|()| buffered.flush())
            .map_err(|e| format!("the copy could not be written: {e}"))?;
        drop(buffered);
        let (hasher, bytes) = (hashing.hasher, hashing.bytes);
        self.entries.push(Entry {
            path: path.to_string(),
            bytes,
            sha256: hex(&hasher.finalize()),
        });
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is needed of one person's rows beyond writing them: their files.
#[derive(Default)]
struct Found {
    /// Uploaded files: id and the name they gave it.
    uploads: Vec<(i64, String)>,
    /// Their picture's id.
    avatar: Option<i64>,
}

/// Shows one stored row as its person's copy shows it.
fn shown_row(
    columns: &[(&'static Column, Shown)],
    row: ExportRow,
    person: UserId,
    sealer: &dyn Sealer,
) -> Vec<Option<String>> {
    let text = |bytes: &Option<Vec<u8>>| {
        bytes
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let person_text = person.0.to_string();
    columns
        .iter()
        .enumerate()
        .map(|(i, (_, shown))| {
            let value = row.get(i).and_then(|v| v.as_ref())?;
            Some(match shown {
                Shown::Held => export::HELD_NOT_DISCLOSED.to_string(),
                Shown::Opened => sealer
                    .open(person, value)
                    .unwrap_or_else(|_| "(cannot be opened)".into()),
                Shown::Value => String::from_utf8_lossy(value).into_owned(),
                Shown::Link(link) => {
                    let kind_value = match link {
                        hearth_core::catalog::PersonLink::ColumnWhen { kind_column, .. } => columns
                            .iter()
                            .position(|(c, _)| c.name == *kind_column)
                            .and_then(|k| text(&row[k])),
                        _ => None,
                    };
                    export::show_link(
                        *link,
                        &String::from_utf8_lossy(value),
                        kind_value.as_deref(),
                        &person_text,
                    )
                }
            })
        })
        .collect()
}

/// A file name safe in any archive tool: letters, digits, dots, dashes and underscores.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    cleaned.trim_start_matches('.').to_string()
}

/// Makes the copy `record` describes at `path`; returns its size and SHA-256.
pub(super) async fn make(
    app: &App,
    record: &ExportRecord,
    path: &Path,
) -> Result<(i64, String), String> {
    let app = app.clone();
    let record = record.clone();
    let path = path.to_path_buf();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || write_archive(&app, &record, &path, &runtime))
        .await
        .map_err(|e| format!("making the copy stopped: {e}"))?
}

fn write_archive(
    app: &App,
    record: &ExportRecord,
    path: &Path,
    runtime: &tokio::runtime::Handle,
) -> Result<(i64, String), String> {
    let dir = path
        .parent()
        .ok_or("the exports folder is not a folder")?
        .to_path_buf();
    make_private_dir(&dir).map_err(|e| format!("the exports folder cannot be made: {e}"))?;
    // Drafts of their own: another run of the same copy (a job whose lease lapsed while it
    // worked) writes beside this one, never into it.
    let run = app.store().next_id();
    let draft = dir.join(format!(".{}.{run}.partial", record.id));
    let csv_draft = dir.join(format!(".{}.{run}.csv.partial", record.id));
    let result = write_draft(app, record, &draft, &csv_draft, runtime);
    let _ = std::fs::remove_file(&csv_draft);
    let placed = result.and_then(|()| {
        // Only while the copy is still wanted (its person not erased meanwhile), and never
        // over a copy another run put in place first: that one is as good.
        if !still_preparing(app, record.id, runtime) {
            return Err("the copy is no longer wanted".to_string());
        }
        match std::fs::hard_link(&draft, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(format!("the copy cannot be put in place: {e}")),
        }
    });
    let _ = std::fs::remove_file(&draft);
    placed?;
    let mut file = File::open(path).map_err(|e| format!("the copy cannot be read back: {e}"))?;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|e| format!("the copy cannot be read back: {e}"))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        bytes += read as u64;
    }
    Ok((
        i64::try_from(bytes).unwrap_or(i64::MAX),
        hex(&hasher.finalize()),
    ))
}

/// Whether the copy `id` is still on record and being made.
fn still_preparing(app: &App, id: i64, runtime: &tokio::runtime::Handle) -> bool {
    runtime.block_on(async {
        let Ok(mut reader) = app.store().reader().await else {
            return false;
        };
        matches!(reader.conn().export(id).await, Ok(Some(r)) if r.state == "preparing")
    })
}

fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // A folder made by hand, or by an older version, may be open to others.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

fn private_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

fn write_draft(
    app: &App,
    record: &ExportRecord,
    draft: &Path,
    csv_draft: &Path,
    runtime: &tokio::runtime::Handle,
) -> Result<(), String> {
    let person = UserId(record.user_id);
    let range = match (record.range_from, record.range_to) {
        (Some(from), Some(to)) => Some(Range {
            from: Timestamp(from),
            to: Timestamp(to),
        }),
        _ => None,
    };
    let file = private_file(draft).map_err(|e| format!("the copy cannot be started: {e}"))?;
    let mut archive = Archive {
        zip: ZipWriter::new(file),
        entries: Vec::new(),
        missing: Vec::new(),
    };
    let sealer = app.store().sealer();
    let mut summaries = Vec::new();
    let mut found = Found::default();
    let mut username = String::new();
    let kinds = export::kinds();
    let total = kinds.len() + 1;
    for (done, kind) in kinds.into_iter().enumerate() {
        if let Some(progress) = &app.progress {
            progress(done, total, kind.name());
        }
        if !still_preparing(app, record.id, runtime) {
            return Err("the copy is no longer wanted".into());
        }
        let rows = write_kind(
            app,
            &mut archive,
            &kind,
            person,
            range,
            &*sealer,
            csv_draft,
            runtime,
            &mut found,
            &mut username,
        )?;
        let schema = kind.schema();
        let described = &schema["properties"]["rows"]["items"]["properties"];
        summaries.push(KindSummary {
            name: kind.name(),
            description: kind.table.description,
            rows,
            schema: kind.schema_path(),
            columns: kind
                .columns()
                .map(|(column, _)| {
                    let about = described[column.name]["description"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    (column.name, about)
                })
                .collect(),
        });
        let schema = serde_json::to_vec_pretty(&schema)
            .map_err(|e| format!("a schema cannot be written: {e}"))?;
        archive.entry(&kind.schema_path(), |out| out.write_all(&schema))?;
    }
    if let Some(progress) = &app.progress {
        progress(total - 1, total, "files");
    }
    let mut files = Vec::new();
    let blobs = app.blobs.clone();
    for (id, name) in &found.uploads {
        let path = format!("files/{id}-{}", safe_name(name));
        copy_file(&mut archive, &path, &blobs.file_path(person, *id))?;
        files.push(path);
    }
    if let Some(avatar) = found.avatar {
        let path = format!("files/picture-{avatar}");
        copy_file(&mut archive, &path, &blobs.file_path(person, avatar))?;
        files.push(path);
    }
    // The answers again, each with the question it answers (the data file names fields by id).
    let labelled = runtime
        .block_on(async {
            let mut reader = app.store().reader().await?;
            reader.conn().labelled_answers(person).await
        })
        .map_err(|e| format!("the profile answers cannot be read: {e}"))?;
    let profile = serde_json::to_vec_pretty(&serde_json::json!({
        "answers": labelled
            .iter()
            .map(|(community, question, help, answer)| serde_json::json!({
                "community": community,
                "question": question,
                "help": help,
                "answer": answer,
            }))
            .collect::<Vec<_>>(),
    }))
    .map_err(|e| format!("the profile cannot be written: {e}"))?;
    archive.entry("profile.json", |out| out.write_all(&profile))?;
    let answers: Vec<(String, String, String)> = labelled
        .into_iter()
        .map(|(community, question, _, answer)| (community, question, answer))
        .collect();
    let made_at = Timestamp::now();
    let range_words = match range {
        Some(range) => format!(
            "messages, files and activity from {} to {}; your account and profile as they are",
            range.from.to_rfc3339(),
            range.to.to_rfc3339()
        ),
        None => "everything held about you".to_string(),
    };
    let index = IndexPage {
        username: &username,
        made_at: made_at.to_rfc3339(),
        range: range_words,
        kinds: &summaries,
        files: &files,
        answers: &answers,
    }
    .render()
    .map_err(|e| format!("the index page cannot be written: {e}"))?;
    archive.entry("index.html", |out| out.write_all(index.as_bytes()))?;
    let manifest = serde_json::to_vec_pretty(&serde_json::json!({
        "format": export::FORMAT_VERSION,
        "made_at": made_at,
        "range": range.map(|r| serde_json::json!({ "from": r.from, "to": r.to })),
        "files": archive.entries,
        "missing": archive.missing,
    }))
    .map_err(|e| format!("the manifest cannot be written: {e}"))?;
    archive.entry("manifest.json", |out| out.write_all(&manifest))?;
    let file = archive
        .zip
        .finish()
        .map_err(|e| format!("the copy's archive cannot be closed: {e}"))?;
    file.sync_all()
        .map_err(|e| format!("the copy cannot be saved: {e}"))
}

/// Copies one stored file into the archive; a file missing from the blob store (removed
/// since) is named in the manifest rather than failing the copy.
fn copy_file(archive: &mut Archive, path: &str, from: &Path) -> Result<(), String> {
    let Ok(mut file) = File::open(from) else {
        archive.missing.push(path.to_string());
        return Ok(());
    };
    archive.entry(path, |out| std::io::copy(&mut file, out).map(drop))
}

/// Each column's name as it opens a member of a JSON object (`"name":`), worked out once
/// per kind so that a row costs only its values.
fn object_keys(names: &[&str]) -> Vec<Vec<u8>> {
    names
        .iter()
        .map(|name| {
            let mut key = serde_json::to_vec(name).unwrap_or_default();
            key.push(b':');
            key
        })
        .collect()
}

/// Writes one row as a JSON object straight to `out`: no map is built per row, which was a
/// fifth of an export's time for a person with many messages.
fn write_object(
    out: &mut dyn Write,
    keys: &[Vec<u8>],
    values: &[Option<String>],
) -> std::io::Result<()> {
    out.write_all(b"{")?;
    for (i, (key, value)) in keys.iter().zip(values).enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(key)?;
        match value {
            Some(text) => serde_json::to_writer(&mut *out, text)?,
            None => out.write_all(b"null")?,
        }
    }
    out.write_all(b"}")
}

/// A CSV cell's bytes, made safe to open in a spreadsheet.
fn cell_bytes(value: &str) -> std::borrow::Cow<'_, [u8]> {
    match export::csv_cell(value) {
        std::borrow::Cow::Borrowed(text) => std::borrow::Cow::Borrowed(text.as_bytes()),
        std::borrow::Cow::Owned(text) => std::borrow::Cow::Owned(text.into_bytes()),
    }
}

/// Writes one kind's JSON and CSV entries; returns how many rows it had.
#[allow(clippy::too_many_arguments)]
fn write_kind(
    app: &App,
    archive: &mut Archive,
    kind: &Kind,
    person: UserId,
    range: Option<Range>,
    sealer: &dyn Sealer,
    csv_draft: &Path,
    runtime: &tokio::runtime::Handle,
    found: &mut Found,
    username: &mut String,
) -> Result<u64, String> {
    // Worked out once per kind, not per row.
    let columns: Vec<_> = kind.columns().collect();
    let names: Vec<&'static str> = columns.iter().map(|(c, _)| c.name).collect();
    let keys = object_keys(&names);
    let position = |name: &str| names.iter().position(|n| *n == name);
    let upload_columns = (kind.name() == "uploads")
        .then(|| position("id").zip(position("file_name")))
        .flatten();
    let user_columns = (kind.name() == hearth_core::catalog::PERSON_TABLE)
        .then(|| position("avatar_id").zip(position("username")))
        .flatten();
    let mut csv = csv::Writer::from_writer(BufWriter::new(
        private_file(csv_draft).map_err(|e| format!("a CSV draft cannot be made: {e}"))?,
    ));
    csv.write_record(&names)
        .map_err(|e| format!("a CSV draft cannot be written: {e}"))?;
    let mut rows = 0;
    let data_path = format!("data/{}.json", kind.name());
    let mut failure: Option<String> = None;
    archive.entry(&data_path, |out| {
        let header = serde_json::json!({
            "kind": kind.name(),
            "schema": kind.schema_id(),
            "description": kind.table.description,
        })
        .to_string();
        // The object is written open, its rows streamed in, then closed.
        out.write_all(&header.as_bytes()[..header.len() - 1])?;
        out.write_all(b",\"rows\":[")?;
        let counted = runtime.block_on(async {
            let mut reader = app.store().reader().await?;
            reader
                .conn()
                .export_rows(kind, person, range, |row| {
                    let values = shown_row(&columns, row, person, sealer);
                    if let Some((id, name)) = upload_columns
                        && let (Some(id), Some(name)) = (&values[id], &values[name])
                        && let Ok(id) = id.parse()
                    {
                        found.uploads.push((id, name.clone()));
                    }
                    if let Some((avatar, handle)) = user_columns {
                        found.avatar = values[avatar].as_deref().and_then(|v| v.parse().ok());
                        *username = values[handle].clone().unwrap_or_default();
                    }
                    let written = (|| -> Result<(), String> {
                        if rows > 0 {
                            out.write_all(b",").map_err(|e| e.to_string())?;
                        }
                        write_object(&mut *out, &keys, &values).map_err(|e| e.to_string())?;
                        csv.write_record(
                            values
                                .iter()
                                .map(|v| cell_bytes(v.as_deref().unwrap_or(""))),
                        )
                        .map_err(|e| e.to_string())
                    })();
                    rows += 1;
                    written.map_err(|e| {
                        failure = Some(e);
                        hearth_store::StoreError::Corrupt("the copy could not be written".into())
                    })
                })
                .await
        });
        if let Some(error) = failure.take() {
            return Err(std::io::Error::other(error));
        }
        counted.map_err(|e: hearth_store::StoreError| std::io::Error::other(e.to_string()))?;
        out.write_all(b"]}")
    })?;
    csv.flush()
        .map_err(|e| format!("a CSV draft cannot be written: {e}"))?;
    drop(csv);
    let mut draft = File::open(csv_draft).map_err(|e| format!("a CSV draft is gone: {e}"))?;
    archive.entry(&format!("csv/{}.csv", kind.name()), |out| {
        let mut buffer = [0u8; 64 * 1024];
        loop {
            let read = draft.read(&mut buffer)?;
            if read == 0 {
                return Ok(());
            }
            out.write_all(&buffer[..read])?;
        }
    })?;
    drop(draft);
    std::fs::remove_file(csv_draft).map_err(|e| format!("a CSV draft cannot be removed: {e}"))?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::{object_keys, write_object};

    #[test]
    fn a_row_is_written_as_the_json_object_a_map_would_make()
    -> Result<(), Box<dyn std::error::Error>> {
        let keys = object_keys(&["id", "body \"quoted\"", "edited_at"]);
        let values = vec![
            Some("7".to_string()),
            Some("line\nbreak, \"quote\", back\\slash, \u{1}control, é".to_string()),
            None,
        ];
        let mut out = Vec::new();
        write_object(&mut out, &keys, &values)?;
        let read: serde_json::Value = serde_json::from_slice(&out)?;
        let expected = serde_json::json!({
            "id": "7",
            "body \"quoted\"": "line\nbreak, \"quote\", back\\slash, \u{1}control, é",
            "edited_at": null,
        });
        assert_eq!(read, expected);
        Ok(())
    }
}
