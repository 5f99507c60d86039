//! `/api/v1/channels/{id}/uploads` and `/api/v1/uploads/{id}`: files attached to messages.

use crate::WebState;
use crate::extract::{ApiPath, ApiQuery, Authed};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_core::model::Attachment;
use hearth_core::{ChannelId, DomainError, UploadId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(download))
}

/// The name a file is uploaded under.
#[derive(Deserialize, IntoParams)]
pub(crate) struct UploadName {
    /// The file's name, kept as a label only (never as a path); up to 200 bytes are kept.
    #[param(max_length = 1000)]
    name: Option<String>,
}

/// Upload a file to attach to a message in the channel (name its id in the post's
/// `attachments`). The request body is the file itself. Its type is sniffed from its bytes,
/// whatever the request says; images lose their location and camera metadata. A file not
/// attached within a day is removed.
#[utoipa::path(post, path = "/api/v1/channels/{channel_id}/uploads", tag = "chat",
    params(("channel_id" = i64, Path), UploadName),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Attachment), (status = 400, body = Problem),
              (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 413, body = Problem),
              (status = 415, body = Problem)))]
async fn upload(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<UploadName>,
    body: Body,
) -> Result<(StatusCode, Json<Attachment>), ApiError> {
    let bytes = read_upload(&state, body).await?;
    let name = query.name.unwrap_or_default();
    let attachment = state
        .app
        .upload(&actor, ChannelId(id), &name, &bytes)
        .await?;
    Ok((StatusCode::CREATED, Json(attachment)))
}

/// Reads an upload's body, refusing it as soon as it passes the configured limit.
pub(crate) async fn read_upload(state: &WebState, body: Body) -> Result<Vec<u8>, ApiError> {
    read_body(body, state.app.max_upload_bytes()).await
}

/// Reads a raw body, refusing it as soon as it passes `limit` bytes.
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let bytes = axum::body::to_bytes(body, limit.saturating_add(1))
        .await
        .map_err(|_| {
            ApiError::from(hearth_app::AppError::from(DomainError::TooLarge {
                limit_bytes: limit as u64,
            }))
        })?;
    if bytes.len() > limit {
        return Err(hearth_app::AppError::from(DomainError::TooLarge {
            limit_bytes: limit as u64,
        })
        .into());
    }
    Ok(bytes.to_vec())
}

/// An uploaded file, to those who may read its message (and to its uploader before it is
/// attached). Pictures are shown inline; everything else is a download. Served with
/// `nosniff` and a sandboxing Content-Security-Policy, so no file can run script here.
#[utoipa::path(get, path = "/api/v1/uploads/{upload_id}", tag = "chat",
    params(("upload_id" = i64, Path)),
    responses((status = 200, description = "The file, as stored", content(
                  (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/gif"),
                  (Vec<u8> = "image/webp"), (Vec<u8> = "application/pdf"),
                  (Vec<u8> = "text/plain"))),
              (status = 404, body = Problem)))]
async fn download(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let file = state.app.download(&actor, UploadId(id)).await?;
    Ok(file_response(file))
}

/// The response that serves a file: its sniffed type, never sniffed again by the browser,
/// sandboxed, shown inline only if it is a picture, never cached, and for this site's pages
/// alone.
pub(crate) fn file_response(file: hearth_app::Download) -> Response {
    let attachment = &file.attachment;
    let is_image = hearth_core::uploads::FileType::from_media_type(&attachment.media_type)
        .is_some_and(|t| t.is_image());
    let disposition = format!(
        "{}; filename=\"{}\"; filename*=UTF-8''{}",
        if is_image { "inline" } else { "attachment" },
        ascii_fallback(&attachment.name),
        percent_encode(&attachment.name)
    );
    let mut response = Body::from(file.bytes).into_response();
    let headers = response.headers_mut();
    let media_type = HeaderValue::from_str(&attachment.media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, media_type);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; sandbox"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    // Not kept by the browser: access can end (a deleted message, a left channel, a
    // sign-out on a shared computer), and a cached copy would outlive it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// The name as plain ASCII for old clients: anything else, and quotes, become `_`.
fn ascii_fallback(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// RFC 8187 encoding of the name for `filename*`.
fn percent_encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_cannot_break_out_of_their_header() {
        assert_eq!(ascii_fallback("a\"b\\c é.png"), "a_b_c _.png");
        assert_eq!(percent_encode("é \"x\".png"), "%C3%A9%20%22x%22.png");
    }
}
