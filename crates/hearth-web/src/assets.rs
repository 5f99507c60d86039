//! The pages' own style sheet and script, built into the binary and served under a name that
//! carries a hash of their content: a browser may keep them for a year, and a new release
//! changes the name. Nothing is fetched from anywhere else.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// One built-in asset.
struct Asset {
    /// The name under `/assets/`, with the content hash.
    name: String,
    body: &'static str,
    content_type: &'static str,
}

struct Assets {
    css: Asset,
    js: Asset,
}

const CSS: &str = include_str!("../assets/hearth.css");
const JS: &str = include_str!("../assets/hearth.js");

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| Assets {
        css: asset("hearth", "css", CSS, "text/css; charset=utf-8"),
        js: asset("hearth", "js", JS, "text/javascript; charset=utf-8"),
    })
}

fn asset(stem: &str, extension: &str, body: &'static str, content_type: &'static str) -> Asset {
    let digest = Sha256::digest(body.as_bytes());
    let hash: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Asset {
        name: format!("{stem}-{hash}.{extension}"),
        body,
        content_type,
    }
}

/// The URL of the style sheet.
pub(crate) fn css_url() -> String {
    format!("/assets/{}", assets().css.name)
}

/// The URL of the script.
pub(crate) fn js_url() -> String {
    format!("/assets/{}", assets().js.name)
}

/// `GET /assets/{name}`: an asset by its hashed name, cached for a year.
pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    let all = assets();
    let Some(asset) = [&all.css, &all.js].into_iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_change_with_their_content() {
        let a = asset("hearth", "css", "body{}", "text/css");
        let b = asset("hearth", "css", "body{color:red}", "text/css");
        assert_ne!(a.name, b.name);
        assert!(a.name.starts_with("hearth-") && a.name.ends_with(".css"));
        assert!(css_url().starts_with("/assets/hearth-"));
    }
}
