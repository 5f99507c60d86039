//! Privacy statements that admins write in full Markdown (headings, lists, tables), shown as
//! HTML to everyone: raw HTML in them is shown as text, links go only to web, mail and
//! Hearth's own addresses, and images become links, so that reading a statement neither runs
//! a script nor tells another site who read it. (Messages use the smaller subset in
//! `markdown`.)

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

/// The HTML for `markdown`, safe to put in a page as it is.
pub(crate) fn to_safe_html(markdown: &str) -> String {
    // No tables: the parser pads short rows with empty cells, a budget it counts per table,
    // so a page of small tables could make millions of cells of a short statement.
    let options = Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        // Raw HTML is the writer's text, not markup.
        Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
        // `<someone@example.org>`: the renderer puts `mailto:` before the bare address.
        Event::Start(Tag::Link {
            link_type: LinkType::Email,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type: LinkType::Email,
            dest_url: safe_address(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_destination(dest_url),
            title,
            id,
        }),
        // A picture from elsewhere would tell its site who read the page: a link instead.
        Event::Start(Tag::Image {
            dest_url,
            title,
            id,
            ..
        }) => Event::Start(Tag::Link {
            link_type: LinkType::Inline,
            dest_url: safe_destination(dest_url),
            title,
            id,
        }),
        Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// A link's destination if it is a web or mail address or one of Hearth's own pages; else
/// nowhere.
fn safe_destination(dest: CowStr<'_>) -> CowStr<'_> {
    let lower = dest.trim().to_ascii_lowercase();
    let allowed = lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
        || (lower.starts_with('/') && !lower.starts_with("//"))
        || lower.starts_with('#');
    if allowed && !lower.chars().any(char::is_control) {
        dest
    } else {
        CowStr::Borrowed("#")
    }
}

/// An email autolink's bare address, if it is one; else nowhere.
fn safe_address(address: CowStr<'_>) -> CowStr<'_> {
    let plain = address.contains('@')
        && !address
            .chars()
            .any(|c| c == ':' || c.is_control() || c.is_whitespace());
    if plain {
        address
    } else {
        CowStr::Borrowed("#")
    }
}

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn markdown_becomes_html_without_scripts_unsafe_links_or_outside_pictures() {
        let html = to_safe_html(
            "# Our statement\n\nWe *care*. <script>alert(1)</script>\n\n\
             [form](/privacy/request) [mail](mailto:a@b.example) [bad](javascript:alert(1)) \
             [bad2](JaVaScRiPt:x) [proto](//evil.example/x)\n\n![pixel](https://track.example/p.gif)\n\n\
             <img src=x onerror=alert(1)>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n\
             Write to <privacy@club.example>.\n",
        );
        assert!(html.contains("<h1>Our statement</h1>"), "{html}");
        assert!(html.contains("<em>care</em>"));
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("href=\"/privacy/request\""));
        assert!(html.contains("href=\"mailto:a@b.example\""));
        assert!(!html.to_ascii_lowercase().contains("javascript:"), "{html}");
        assert!(!html.contains("//evil.example"), "{html}");
        assert!(
            html.contains("<a href=\"https://track.example/p.gif\">pixel</a>"),
            "{html}"
        );
        // Tables stay text (see `to_safe_html`).
        assert!(!html.contains("<table>"));
        assert!(
            html.contains("<a href=\"mailto:privacy@club.example\">privacy@club.example</a>"),
            "{html}"
        );
    }
}
