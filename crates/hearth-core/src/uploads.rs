//! Uploaded files: what type the bytes really are, the metadata that must not leave with an
//! image, and the name a file may be stored and offered under. Pure functions of the bytes;
//! the store keeps the files and the web layer serves them.
//!
//! The type is always sniffed from the bytes, never taken from the client, and anything not
//! recognised is refused: a file claiming to be an image while holding a page of HTML is a
//! classic way to run script on a chat's own origin.
//!
//! Images lose their location and camera metadata before they are stored (EXIF, XMP, IPTC,
//! comments and text chunks): a photo must not tell where it was taken. Only the metadata
//! is removed; the pixels are untouched, so no re-encoding is needed.

use thiserror::Error;

/// The kinds of file Hearth recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    Png,
    Jpeg,
    Gif,
    Webp,
    Pdf,
    /// UTF-8 text that is not markup.
    Text,
    /// UTF-8 text that starts like HTML, SVG or XML: recognised only to be refused.
    Markup,
}

impl FileType {
    /// Every type, for configuration and documentation.
    pub const ALL: [FileType; 7] = [
        FileType::Png,
        FileType::Jpeg,
        FileType::Gif,
        FileType::Webp,
        FileType::Pdf,
        FileType::Text,
        FileType::Markup,
    ];

    /// Its media type, as served.
    pub fn media_type(self) -> &'static str {
        match self {
            FileType::Png => "image/png",
            FileType::Jpeg => "image/jpeg",
            FileType::Gif => "image/gif",
            FileType::Webp => "image/webp",
            FileType::Pdf => "application/pdf",
            FileType::Text => "text/plain; charset=utf-8",
            FileType::Markup => "text/html",
        }
    }

    /// The type a media type names (parameters ignored), as written in the configuration.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        let essence = media_type.split(';').next().unwrap_or("").trim();
        Self::ALL
            .into_iter()
            .find(|t| t.media_type().split(';').next() == Some(essence))
    }

    /// Whether browsers may show it inline as a picture. Everything else is served as a
    /// download.
    pub fn is_image(self) -> bool {
        matches!(
            self,
            FileType::Png | FileType::Jpeg | FileType::Gif | FileType::Webp
        )
    }

    /// The file name extension that matches it.
    pub fn extension(self) -> &'static str {
        match self {
            FileType::Png => "png",
            FileType::Jpeg => "jpg",
            FileType::Gif => "gif",
            FileType::Webp => "webp",
            FileType::Pdf => "pdf",
            FileType::Text => "txt",
            FileType::Markup => "html",
        }
    }
}

/// Why an upload was refused.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum UploadError {
    /// The bytes are of no type Hearth recognises.
    #[error("the file's type could not be recognised from its contents")]
    Unrecognised,
    /// The bytes are of a type this instance does not accept.
    #[error("files of type {0} are not accepted here")]
    NotAllowed(&'static str),
    /// An image's structure is broken, so its metadata cannot be removed with certainty.
    #[error("the image is damaged: {0}")]
    Damaged(&'static str),
    /// Empty.
    #[error("the file is empty")]
    Empty,
}

/// What the bytes are, from their first bytes (and, for text, all of them).
pub fn sniff(bytes: &[u8]) -> Result<FileType, UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Empty);
    }
    let found = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        FileType::Png
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        FileType::Jpeg
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        FileType::Gif
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        FileType::Webp
    } else if bytes.starts_with(b"%PDF-") {
        FileType::Pdf
    } else {
        let text = std::str::from_utf8(bytes).map_err(|_| UploadError::Unrecognised)?;
        if text.contains('\0') {
            return Err(UploadError::Unrecognised);
        }
        let start = text.trim_start_matches('\u{feff}').trim_start();
        // What a browser that ignored the declared type might take for a page.
        if start.starts_with('<') {
            FileType::Markup
        } else {
            FileType::Text
        }
    };
    Ok(found)
}

/// Sniffs `bytes`, checks the type against `allowed`, and returns the bytes to store: for
/// images, without their metadata.
pub fn accept(bytes: &[u8], allowed: &[FileType]) -> Result<(FileType, Vec<u8>), UploadError> {
    let kind = sniff(bytes)?;
    if !allowed.contains(&kind) || kind == FileType::Markup {
        return Err(UploadError::NotAllowed(kind.media_type()));
    }
    let stored = match kind {
        FileType::Jpeg => strip_jpeg(bytes)?,
        FileType::Png => strip_png(bytes)?,
        FileType::Webp => strip_webp(bytes)?,
        FileType::Gif => strip_gif(bytes)?,
        FileType::Pdf | FileType::Text | FileType::Markup => bytes.to_vec(),
    };
    Ok((kind, stored))
}

/// JPEG: keeps every segment but the application segments that carry metadata (APP1: EXIF
/// and XMP; APP2 other than the colour profile; APP3–APP13 and APP15: makers' notes, IPTC and
/// others) and comments. APP0 (JFIF), the colour profile and APP14 (Adobe's colour transform,
/// needed to decode some CMYK files) stay.
fn strip_jpeg(bytes: &[u8]) -> Result<Vec<u8>, UploadError> {
    let damaged = UploadError::Damaged("a JPEG segment runs past the end of the file");
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut at = 2;
    loop {
        // Markers may be padded with any number of 0xff bytes.
        while bytes.get(at) == Some(&0xff) && bytes.get(at + 1) == Some(&0xff) {
            at += 1;
        }
        if bytes.get(at) != Some(&0xff) {
            return Err(UploadError::Damaged("a JPEG marker is missing"));
        }
        let marker = *bytes
            .get(at + 1)
            .ok_or(UploadError::Damaged("a JPEG ends early"))?;
        match marker {
            // End of image: whatever trails it (some cameras append a second picture with
            // its own metadata) is dropped.
            0xd9 => {
                out.extend_from_slice(&[0xff, 0xd9]);
                return Ok(out);
            }
            // Markers without a length.
            0x01 | 0xd0..=0xd7 => {
                out.extend_from_slice(&bytes[at..at + 2]);
                at += 2;
                continue;
            }
            _ => {}
        }
        let length = bytes
            .get(at + 2..at + 4)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
            .ok_or(UploadError::Damaged("a JPEG ends early"))?;
        if length < 2 {
            return Err(UploadError::Damaged(
                "a JPEG segment has an impossible length",
            ));
        }
        let end = at + 2 + length;
        let segment = bytes.get(at..end).ok_or(damaged.clone())?;
        // APP2 carries the colour profile, which stays, but also multi-picture indexes.
        let colour_profile = marker == 0xe2 && segment.get(4..16) == Some(b"ICC_PROFILE\0");
        let metadata = matches!(marker, 0xe1..=0xed | 0xef | 0xfe) && !colour_profile;
        if marker == 0xe0 {
            // APP0: the JFIF header stays, without the thumbnail it may carry (a picture of
            // the photo before it was cropped); JFXX extensions (more thumbnails) and anything
            // else go.
            if segment.len() >= 18 && &segment[4..9] == b"JFIF\0" {
                out.extend_from_slice(&[0xff, 0xe0, 0x00, 0x10]);
                out.extend_from_slice(&segment[4..16]);
                out.extend_from_slice(&[0, 0]);
            }
        } else if !metadata {
            out.extend_from_slice(segment);
        }
        at = end;
        if marker == 0xda {
            // Start of scan: entropy-coded data follows up to the next marker that is not
            // a stuffed 0xff00 or a restart marker; copy it as it is.
            let scan_end = scan_data_end(bytes, at);
            out.extend_from_slice(&bytes[at..scan_end]);
            at = scan_end;
            if at >= bytes.len() {
                return Err(damaged);
            }
        }
    }
}

/// Where a JPEG scan's entropy-coded data that starts at `from` ends.
fn scan_data_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while at + 1 < bytes.len() {
        if bytes[at] == 0xff {
            let next = bytes[at + 1];
            if next != 0x00 && !(0xd0..=0xd7).contains(&next) && next != 0xff {
                return at;
            }
        }
        at += 1;
    }
    bytes.len()
}

/// PNG: keeps only the chunks that make up the picture (image data, palette, transparency,
/// colour and gamma, pixel size, background, animation); everything else, text, EXIF in its
/// several spellings, times, provenance manifests, colour profiles that carry a name and
/// makers' private chunks, goes. Kept chunks are copied whole, length and CRC as they were.
fn strip_png(bytes: &[u8]) -> Result<Vec<u8>, UploadError> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..8]);
    let mut at = 8;
    while at < bytes.len() {
        let header = bytes
            .get(at..at + 8)
            .ok_or(UploadError::Damaged("a PNG chunk header is cut short"))?;
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        let end = at
            .checked_add(12)
            .and_then(|n| n.checked_add(length))
            .filter(|&end| end <= bytes.len())
            .ok_or(UploadError::Damaged(
                "a PNG chunk runs past the end of the file",
            ))?;
        let picture = matches!(
            kind,
            b"IHDR"
                | b"PLTE"
                | b"IDAT"
                | b"IEND"
                | b"tRNS"
                | b"gAMA"
                | b"cHRM"
                | b"sRGB"
                | b"sBIT"
                | b"pHYs"
                | b"bKGD"
                | b"acTL"
                | b"fcTL"
                | b"fdAT"
        );
        if picture {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
    Err(UploadError::Damaged("a PNG has no end chunk"))
}

/// WebP: keeps only the chunks that make up the picture (VP8, VP8L, VP8X, alpha, animation,
/// colour profile), clears the extended header's flags for EXIF and XMP, and writes the RIFF
/// size anew.
fn strip_webp(bytes: &[u8]) -> Result<Vec<u8>, UploadError> {
    let declared = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let end_of_riff = declared
        .checked_add(8)
        .filter(|&end| end <= bytes.len())
        .ok_or(UploadError::Damaged("a WebP file is shorter than it says"))?;
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut at = 12;
    while at < end_of_riff {
        let header = bytes
            .get(at..at + 8)
            .ok_or(UploadError::Damaged("a WebP chunk header is cut short"))?;
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        // Chunks are padded to an even size.
        let end = (at + 8)
            .checked_add(size + (size & 1))
            .filter(|&end| end <= end_of_riff)
            .ok_or(UploadError::Damaged(
                "a WebP chunk runs past the end of the file",
            ))?;
        let kind = &header[..4];
        if matches!(
            kind,
            b"VP8X" | b"VP8 " | b"VP8L" | b"ALPH" | b"ANIM" | b"ANMF" | b"ICCP"
        ) {
            let start = out.len();
            out.extend_from_slice(&bytes[at..end]);
            if kind == b"VP8X" && size >= 1 {
                // Flags: bit 3 says EXIF follows, bit 2 XMP.
                out[start + 8] &= !0b0000_1100;
            }
        }
        at = end;
    }
    let riff_size = u32::try_from(out.len() - 8)
        .map_err(|_| UploadError::Damaged("a WebP file is too large"))?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Ok(out)
}

/// GIF: keeps the header, colour tables, images and the extensions that drive animation
/// (graphic control, and the looping application extension); drops comments, plain text and
/// every other application extension (XMP travels in one).
fn strip_gif(bytes: &[u8]) -> Result<Vec<u8>, UploadError> {
    let damaged = || UploadError::Damaged("a GIF block runs past the end of the file");
    let screen = bytes.get(..13).ok_or_else(damaged)?;
    let mut at = 13 + colour_table_len(screen[10]);
    let mut out = bytes.get(..at).ok_or_else(damaged)?.to_vec();
    loop {
        match *bytes.get(at).ok_or_else(damaged)? {
            // Trailer.
            0x3b => {
                out.push(0x3b);
                return Ok(out);
            }
            // Image: descriptor, local colour table, LZW minimum code size, data sub-blocks.
            0x2c => {
                let descriptor = bytes.get(at..at + 10).ok_or_else(damaged)?;
                let header_end = at + 10 + colour_table_len(descriptor[9]) + 1;
                let end = sub_blocks_end(bytes, header_end).ok_or_else(damaged)?;
                out.extend_from_slice(&bytes[at..end]);
                at = end;
            }
            // Extension: label, then sub-blocks.
            0x21 => {
                let label = *bytes.get(at + 1).ok_or_else(damaged)?;
                let end = sub_blocks_end(bytes, at + 2).ok_or_else(damaged)?;
                let keep = match label {
                    0xf9 => true,
                    0xff => bytes
                        .get(at + 2..at + 14)
                        .is_some_and(|id| id == b"\x0bNETSCAPE2.0" || id == b"\x0bANIMEXTS1.0"),
                    _ => false,
                };
                if keep {
                    out.extend_from_slice(&bytes[at..end]);
                }
                at = end;
            }
            _ => return Err(UploadError::Damaged("a GIF has an unknown block")),
        }
    }
}

/// Bytes of the colour table that a GIF packed-fields byte announces.
fn colour_table_len(packed: u8) -> usize {
    if packed & 0x80 == 0 {
        0
    } else {
        3 << ((packed & 0x07) + 1)
    }
}

/// Where a run of GIF data sub-blocks starting at `at` ends (after its zero terminator).
fn sub_blocks_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let size = usize::from(*bytes.get(at)?);
        at += 1;
        if size == 0 {
            return Some(at);
        }
        at += size;
        if at > bytes.len() {
            return None;
        }
    }
}

/// A file name fit to store and offer for download: the last path component only, control
/// and path characters replaced, at most 200 bytes, never empty or a dot name. The name is
/// only ever a label: files are stored under their ids.
pub fn clean_file_name(name: &str, kind: FileType) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let mut cleaned: String = last
        .chars()
        // Invisible formatting (right-to-left overrides, zero-width characters) can make
        // "photo\u{202e}gpj.exe" read as "photoexe.jpg".
        .filter(|c| !is_invisible_format(*c))
        .map(|c| {
            if c.is_control() || matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    cleaned = cleaned.trim().trim_start_matches('.').to_string();
    while cleaned.len() > 190 {
        cleaned.pop();
    }
    if cleaned.is_empty() {
        cleaned = "file".into();
    }
    // The name ends in the extension of what the file is, so that opening a download runs
    // no program its name chose (a text file named "invoice.bat").
    let extension = kind.extension();
    let fits = cleaned.rsplit_once('.').is_some_and(|(_, ext)| {
        ext.eq_ignore_ascii_case(extension)
            || (kind == FileType::Jpeg && ext.eq_ignore_ascii_case("jpeg"))
    });
    if !fits {
        cleaned = format!("{cleaned}.{extension}");
    }
    cleaned
}

/// Characters that change how text shows without showing themselves.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg_with_gps() -> Vec<u8> {
        let mut jpeg = vec![0xff, 0xd8];
        // APP0 JFIF.
        // APP0 JFIF with a 1x1 thumbnail (its pixel spells "THU").
        jpeg.extend_from_slice(&[0xff, 0xe0, 0x00, 0x13, b'J', b'F', b'I', b'F', 0, 1, 2, 0]);
        jpeg.extend_from_slice(&[0, 1, 0, 1, 1, 1, b'T', b'H', b'U']);
        // APP1 EXIF holding a GPS marker string.
        let exif = b"Exif\0\0GPSLatitude 51.5007";
        jpeg.extend_from_slice(&[0xff, 0xe1]);
        jpeg.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        jpeg.extend_from_slice(exif);
        // A comment.
        jpeg.extend_from_slice(&[0xff, 0xfe, 0x00, 0x06, b'c', b'a', b'm', b'!']);
        // Quantisation table stand-in, start of scan and scan data with a stuffed byte.
        jpeg.extend_from_slice(&[0xff, 0xdb, 0x00, 0x04, 1, 2]);
        jpeg.extend_from_slice(&[0xff, 0xda, 0x00, 0x04, 9, 9, 0x12, 0xff, 0x00, 0x34]);
        jpeg.extend_from_slice(&[0xff, 0xd9]);
        jpeg
    }

    #[test]
    fn a_jpeg_loses_its_exif_and_comments_and_keeps_its_picture() -> Result<(), UploadError> {
        let (kind, stored) = accept(&jpeg_with_gps(), &[FileType::Jpeg])?;
        assert_eq!(kind, FileType::Jpeg);
        let text = String::from_utf8_lossy(&stored);
        assert!(!text.contains("GPS"), "{stored:?}");
        assert!(!text.contains("cam!"));
        assert!(text.contains("JFIF"));
        assert!(!text.contains("THU"), "the thumbnail stayed");
        assert_eq!(&stored[2..6], &[0xff, 0xe0, 0x00, 0x10]);
        assert!(stored.ends_with(&[0x12, 0xff, 0x00, 0x34, 0xff, 0xd9]));
        Ok(())
    }

    #[test]
    fn a_png_loses_its_text_chunks() -> Result<(), UploadError> {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]);
            c
        };
        png.extend(chunk(b"IHDR", &[0; 13]));
        png.extend(chunk(b"tEXt", b"Location\0Home"));
        png.extend(chunk(b"eXIf", b"GPS"));
        png.extend(chunk(b"IDAT", b"pixels"));
        png.extend(chunk(b"IEND", b""));
        let (_, stored) = accept(&png, &[FileType::Png])?;
        let text = String::from_utf8_lossy(&stored);
        assert!(!text.contains("Home") && !text.contains("GPS"));
        assert!(text.contains("pixels") && text.contains("IEND"));
        Ok(())
    }

    #[test]
    fn a_webp_loses_exif_and_xmp_and_its_flags_say_so() -> Result<(), UploadError> {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = kind.to_vec();
            c.extend_from_slice(&(data.len() as u32).to_le_bytes());
            c.extend_from_slice(data);
            if data.len() % 2 == 1 {
                c.push(0);
            }
            c
        };
        let mut body = b"WEBP".to_vec();
        body.extend(chunk(b"VP8X", &[0b0000_1100, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        body.extend(chunk(b"VP8 ", b"frame"));
        body.extend(chunk(b"EXIF", b"GPS here"));
        body.extend(chunk(b"XMP ", b"<x:GPS/>"));
        let mut webp = b"RIFF".to_vec();
        webp.extend_from_slice(&(body.len() as u32).to_le_bytes());
        webp.extend(body);
        let (_, stored) = accept(&webp, &[FileType::Webp])?;
        assert!(!String::from_utf8_lossy(&stored).contains("GPS"));
        assert_eq!(stored[20] & 0b0000_1100, 0);
        let size = u32::from_le_bytes([stored[4], stored[5], stored[6], stored[7]]) as usize;
        assert_eq!(size + 8, stored.len());
        Ok(())
    }

    #[test]
    fn a_gif_keeps_its_animation_and_loses_comments() -> Result<(), UploadError> {
        let mut gif = b"GIF89a".to_vec();
        gif.extend_from_slice(&[1, 0, 1, 0, 0x80, 0, 0]); // 2-colour global table
        gif.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
        gif.extend_from_slice(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00");
        gif.extend_from_slice(b"\x21\xfe\x09somewhere\x00");
        gif.extend_from_slice(b"\x21\xff\x0bXMP DataXMP\x04<GPS\x00");
        gif.extend_from_slice(&[0x21, 0xf9, 4, 0, 10, 0, 0, 0]);
        gif.extend_from_slice(&[0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0]);
        gif.push(0x3b);
        let (_, stored) = accept(&gif, &[FileType::Gif])?;
        let text = String::from_utf8_lossy(&stored);
        assert!(!text.contains("somewhere") && !text.contains("GPS"));
        assert!(text.contains("NETSCAPE2.0"));
        assert_eq!(stored.last(), Some(&0x3b));
        Ok(())
    }

    #[test]
    fn html_posing_as_an_image_is_refused_and_unknown_bytes_too() -> Result<(), UploadError> {
        let all = FileType::ALL;
        assert_eq!(
            accept(b"  <html><script>alert(1)</script>", &all),
            Err(UploadError::NotAllowed("text/html"))
        );
        assert_eq!(
            accept(b"<svg onload=alert(1)>", &all),
            Err(UploadError::NotAllowed("text/html"))
        );
        assert_eq!(
            accept(&[0, 159, 146, 150], &all),
            Err(UploadError::Unrecognised)
        );
        assert_eq!(accept(b"", &all), Err(UploadError::Empty));
        assert_eq!(
            accept(b"%PDF-1.7", &[FileType::Png]),
            Err(UploadError::NotAllowed("application/pdf"))
        );
        assert_eq!(accept(b"notes", &all)?.0, FileType::Text);
        Ok(())
    }

    #[test]
    fn damaged_images_are_refused_rather_than_stored_with_their_metadata() {
        let mut cut = jpeg_with_gps();
        cut.truncate(12);
        assert!(matches!(
            accept(&cut, &[FileType::Jpeg]),
            Err(UploadError::Damaged(_))
        ));
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        assert!(matches!(
            accept(&png, &[FileType::Png]),
            Err(UploadError::Damaged(_))
        ));
    }

    #[test]
    fn file_names_are_labels_without_paths() {
        let name = |n: &str, kind| clean_file_name(n, kind);
        assert_eq!(name("../../etc/notes.txt", FileType::Text), "notes.txt");
        assert_eq!(name("..\\boot.ini", FileType::Text), "boot.ini.txt");
        assert_eq!(name("..", FileType::Png), "file.png");
        assert_eq!(name("a\"b\r\n.png", FileType::Png), "a_b__.png");
        assert_eq!(name("", FileType::Pdf), "file.pdf");
        assert_eq!(name("photo.JPEG", FileType::Jpeg), "photo.JPEG");
        assert_eq!(name("invoice.bat", FileType::Text), "invoice.bat.txt");
        assert_eq!(
            name("readme\u{202e}txt.bat", FileType::Text),
            "readmetxt.bat.txt"
        );
        assert!(name(&"é".repeat(300), FileType::Text).len() <= 200);
    }
}
