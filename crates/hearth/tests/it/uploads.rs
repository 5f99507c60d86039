//! Uploads: the type comes from the bytes, images lose their location before they are kept,
//! names are labels, and files reach only those who may read their message, with headers that
//! stop a browser from running them; deleting the message or letting an upload lapse removes
//! the file from disk.

use crate::harness::{Auth, Backend, Client, Resp, TestServer, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    an_image_is_stripped_of_its_location_and_served_only_to_readers,
    uploads_the_instance_does_not_accept_are_refused_with_a_reason,
    lapsed_uploads_and_files_without_a_row_are_swept,
);

/// A JPEG whose EXIF block holds a GPS position, with a comment, around a tiny scan.
pub(crate) fn jpeg_with_gps() -> Vec<u8> {
    let mut jpeg = vec![0xff, 0xd8];
    // APP0 JFIF with a 1x1 thumbnail (its pixel spells "THU").
    jpeg.extend_from_slice(&[0xff, 0xe0, 0x00, 0x13, b'J', b'F', b'I', b'F', 0, 1, 2, 0]);
    jpeg.extend_from_slice(&[0, 1, 0, 1, 1, 1, b'T', b'H', b'U']);
    let exif = b"Exif\0\0GPSLatitude 51.500729 N GPSLongitude 0.124625 W";
    jpeg.extend_from_slice(&[0xff, 0xe1]);
    jpeg.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    jpeg.extend_from_slice(exif);
    jpeg.extend_from_slice(&[0xff, 0xfe, 0x00, 0x0a]);
    jpeg.extend_from_slice(b"Pixel 9 ");
    jpeg.extend_from_slice(&[0xff, 0xdb, 0x00, 0x04, 1, 2]);
    jpeg.extend_from_slice(&[0xff, 0xda, 0x00, 0x04, 9, 9, 0x12, 0x34, 0x56]);
    jpeg.extend_from_slice(&[0xff, 0xd9]);
    jpeg
}

/// A real, viewable PNG (a warm gradient, `width` by `height`) that carries a text chunk
/// naming where it was taken.
pub(crate) fn png_with_location(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(png: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        png.extend_from_slice(&body);
        png.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // no filter
        for x in 0..width {
            raw.extend_from_slice(&[
                (200 + 55 * x / width) as u8,
                (90 + 120 * y / height) as u8,
                (40 + 60 * x / width) as u8,
            ]);
        }
    }
    // zlib with stored (uncompressed) blocks.
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"tEXt", b"Location\0GPS 51.500729 N 0.124625 W");
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", b"");
    png
}

/// Sends `bytes` as an upload to `channel`, claiming `claimed` as its type.
pub(crate) async fn upload(
    client: &Client,
    channel: &str,
    name: &str,
    claimed: &str,
    bytes: Vec<u8>,
) -> Resp {
    let url = reqwest::Url::parse_with_params(
        &format!("{}/api/v1/channels/{channel}/uploads", client.base),
        &[("name", name)],
    )
    .unwrap();
    send_bytes(client, client.http.post(url), claimed, bytes).await
}

/// Sends `request` with `bytes` as its body, claiming `claimed` as their type, with the
/// client's credentials.
pub(crate) async fn send_bytes(
    client: &Client,
    request: reqwest::RequestBuilder,
    claimed: &str,
    bytes: Vec<u8>,
) -> Resp {
    let mut request = request.header("content-type", claimed).body(bytes);
    request = match &client.auth {
        Auth::None => request,
        Auth::Bearer(token) => request.bearer_auth(token),
        Auth::Cookie(cookie) => request.header("cookie", cookie),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap();
    Resp {
        status,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    }
}

/// Downloads an upload: status, headers and the raw bytes.
async fn download(client: &Client, id: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = client
        .http
        .get(format!("{}/api/v1/uploads/{id}", client.base));
    if let Auth::Bearer(token) = &client.auth {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Every file under `dir`, with its contents.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    found
}

async fn an_image_is_stripped_of_its_location_and_served_only_to_readers(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let carol = server.member("carol").await;
    let community = alice.create_community("photos").await;
    bob.join(&community).await;
    carol.join(&community).await;
    let channel = alice.create_channel(&community, "holiday", "private").await;
    alice
        .post(
            &format!("/api/v1/channels/{channel}/members"),
            json!({ "user_id": bob.id }),
        )
        .await
        .expect_status(204);

    // A name with a path in it is kept as a label only.
    let uploaded = upload(
        &alice,
        &channel,
        "../../etc/beach.jpg",
        "text/html",
        jpeg_with_gps(),
    )
    .await
    .expect_status(201);
    let id = uploaded.str("id");
    assert_eq!(uploaded.body["name"], "beach.jpg");
    assert_eq!(uploaded.body["media_type"], "image/jpeg");

    // On disk: in alice's folder, named by id, without the GPS position or the comment.
    let uploads = server.config.data_dir.join("uploads");
    let stored = std::fs::read(uploads.join(&alice.id).join(&id)).unwrap();
    assert!(stored.starts_with(&[0xff, 0xd8]) && stored.ends_with(&[0xff, 0xd9]));
    for (path, bytes) in files_under(&uploads) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("GPS"), "{path:?} holds the location");
        assert!(!text.contains("Pixel 9"), "{path:?} holds the comment");
    }
    assert_eq!(uploaded.body["size"], stored.len());
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&uploads.join(&alice.id).join(&id)), 0o600);
        assert_eq!(mode(&uploads.join(&alice.id)), 0o700);
    }

    // Before it is attached, only its uploader can fetch it.
    assert_eq!(download(&alice, &id).await.0, 200);
    assert_eq!(download(&bob, &id).await.0, 404);

    // Someone else cannot attach it; its uploader can, with no text.
    bob.post(
        &format!("/api/v1/channels/{channel}/messages"),
        json!({ "body": "mine now", "attachments": [id] }),
    )
    .await
    .expect_problem(422, "validation");
    let posted = alice
        .post(
            &format!("/api/v1/channels/{channel}/messages"),
            json!({ "body": "", "attachments": [id] }),
        )
        .await
        .expect_status(201);
    assert_eq!(posted.body["attachments"][0]["id"], id.as_str());
    let message = posted.str("id");
    // Attached once only.
    alice
        .post(
            &format!("/api/v1/channels/{channel}/messages"),
            json!({ "body": "again", "attachments": [id] }),
        )
        .await
        .expect_problem(422, "validation");
    let history = bob
        .get(&format!("/api/v1/channels/{channel}/messages"))
        .await
        .expect_status(200);
    assert_eq!(
        history.body["messages"][0]["attachments"][0]["name"],
        "beach.jpg"
    );

    // A reader gets it as a picture that cannot run anything; an outsider hears of nothing.
    let (status, headers, bytes) = download(&bob, &id).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, stored);
    assert_eq!(header(&headers, "content-type"), "image/jpeg");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert!(header(&headers, "content-security-policy").contains("sandbox"));
    assert!(header(&headers, "content-disposition").starts_with("inline;"));
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(
        header(&headers, "cross-origin-resource-policy"),
        "same-origin"
    );
    assert_eq!(download(&carol, &id).await.0, 404);
    assert_eq!(download(&server.anonymous(), &id).await.0, 401);

    // Anything that is not a picture is a download.
    let pdf = upload(
        &alice,
        &channel,
        "notes.pdf",
        "image/png",
        b"%PDF-1.7 x".to_vec(),
    )
    .await
    .expect_status(201);
    let (status, headers, _) = download(&alice, &pdf.str("id")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "application/pdf");
    assert!(header(&headers, "content-disposition").starts_with("attachment;"));

    // The upload is audited by id.
    let actor = hearth_core::UserId(alice.id.parse().unwrap());
    let entries = server.app().audit_by_actor(actor, 100).await.unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "upload.created" && e.object_id == id.parse().ok()),
        "{entries:?}"
    );

    // Deleting the message deletes the file.
    alice
        .delete(&format!("/api/v1/messages/{message}"))
        .await
        .expect_status(204);
    assert_eq!(download(&alice, &id).await.0, 404);
    assert!(!uploads.join(&alice.id).join(&id).exists());
}

async fn uploads_the_instance_does_not_accept_are_refused_with_a_reason(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.max_upload_bytes = 4096;
        config.upload_types = vec!["image/png".into(), "image/jpeg".into()];
    })
    .await;
    let alice = server.member("alice").await;
    let outsider = server.member("outsider").await;
    let community = alice.create_community("strict").await;
    let channel = alice.general_channel(&community).await;

    // Too large: refused before anything is kept.
    upload(&alice, &channel, "big.jpg", "image/jpeg", vec![0xff; 5000])
        .await
        .expect_problem(413, "too-large");
    // HTML calling itself a picture.
    let page = b"<!doctype html><script>alert(document.cookie)</script>".to_vec();
    upload(&alice, &channel, "cat.png", "image/png", page)
        .await
        .expect_problem(415, "unsupported-type");
    // A type this instance does not take, and bytes of no known type.
    upload(
        &alice,
        &channel,
        "notes.txt",
        "text/plain",
        b"notes".to_vec(),
    )
    .await
    .expect_problem(415, "unsupported-type");
    upload(
        &alice,
        &channel,
        "a.out",
        "image/png",
        vec![0x7f, b'E', 0x00, 0xfe],
    )
    .await
    .expect_problem(415, "unsupported-type");
    // A PNG that says more than it holds.
    upload(
        &alice,
        &channel,
        "broken.png",
        "image/png",
        b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec(),
    )
    .await
    .expect_problem(415, "unsupported-type");
    // Someone who may not post in the channel.
    upload(&outsider, &channel, "x.jpg", "image/jpeg", jpeg_with_gps())
        .await
        .expect_problem(404, "not-found");
    // Nothing of any of them was kept.
    assert!(files_under(&server.config.data_dir.join("uploads")).is_empty());
}

async fn lapsed_uploads_and_files_without_a_row_are_swept(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let community = alice.create_community("sweep").await;
    let channel = alice.general_channel(&community).await;
    let kept = upload(&alice, &channel, "kept.jpg", "image/jpeg", jpeg_with_gps())
        .await
        .expect_status(201)
        .str("id");
    alice
        .post(
            &format!("/api/v1/channels/{channel}/messages"),
            json!({ "body": "look", "attachments": [kept] }),
        )
        .await
        .expect_status(201);
    let lapsed = upload(
        &alice,
        &channel,
        "lapsed.jpg",
        "image/jpeg",
        jpeg_with_gps(),
    )
    .await
    .expect_status(201)
    .str("id");
    let fresh = upload(&alice, &channel, "fresh.jpg", "image/jpeg", jpeg_with_gps())
        .await
        .expect_status(201)
        .str("id");
    // The lapsed upload was made two days ago; a file with no row sits beside the others,
    // as a crash between writing a file and its row would leave it.
    let two_days_ago = hearth_core::Timestamp::now().plus_seconds(-2 * 24 * 3600).0;
    let sql = format!("UPDATE uploads SET created_at = {two_days_ago} WHERE id = {lapsed}");
    server
        .app()
        .store()
        .write(move |tx| Box::pin(async move { tx.conn().execute_unchecked(sql).await }))
        .await
        .unwrap();
    let folder = server.config.data_dir.join("uploads").join(&alice.id);
    let orphan = folder.join("12345");
    std::fs::write(&orphan, b"left by a crash").unwrap();
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    for path in [
        &orphan,
        &folder.join(&kept),
        &folder.join(&lapsed),
        &folder.join(&fresh),
    ] {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(hours_ago)
            .unwrap();
    }

    let swept = server.app().sweep_retention().await.unwrap();
    assert_eq!(swept.uploads, 2);
    assert!(!orphan.exists());
    assert!(!folder.join(&lapsed).exists());
    assert!(folder.join(&kept).exists());
    assert!(folder.join(&fresh).exists());
    assert_eq!(download(&alice, &lapsed).await.0, 404);
    assert_eq!(download(&alice, &kept).await.0, 200);
}
