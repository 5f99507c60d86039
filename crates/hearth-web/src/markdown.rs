//! Message text to HTML: a small, safe Markdown subset. Emphasis (`*a*`, `_a_`), strong
//! (`**a**`), inline code, fenced code blocks, links (`[text](https://…)`) and bare `http(s)`
//! URLs become markup; everything else is text, escaped. Raw HTML never passes: `<b>` shows as
//! `<b>`. Links may only lead to `http`, `https` or `mailto` addresses, and open with
//! `rel="nofollow noopener noreferrer"`.

/// Renders `text` as HTML (paragraph-free: the page's `.body` keeps line breaks).
pub(crate) fn render(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + text.len() / 4);
    let mut lines = text.split('\n').peekable();
    let mut first = true;
    while let Some(line) = lines.next() {
        if let Some(fence) = fence_of(line) {
            // A fenced block runs to the closing fence (or the end of the text).
            let mut code = Vec::new();
            for inner in lines.by_ref() {
                if inner.trim_start().starts_with(fence) {
                    break;
                }
                code.push(inner);
            }
            html.push_str("<pre><code>");
            escape_into(&mut html, &code.join("\n"));
            html.push_str("</code></pre>");
            first = true;
            continue;
        }
        if !first {
            html.push('\n');
        }
        first = false;
        inline(&mut html, line);
    }
    html
}

/// The fence a line opens, if it opens one.
fn fence_of(line: &str) -> Option<&'static str> {
    let trimmed = line.trim_start();
    if trimmed.starts_with("```") {
        Some("```")
    } else if trimmed.starts_with("~~~") {
        Some("~~~")
    } else {
        None
    }
}

/// Renders one line's inline markup.
fn inline(html: &mut String, line: &str) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut text = String::new();
    while i < chars.len() {
        let rest = &chars[i..];
        if let Some((consumed, markup)) = code_span(rest)
            .or_else(|| strong(rest))
            .or_else(|| emphasis(rest, i == 0 || !chars[i - 1].is_alphanumeric()))
            .or_else(|| link(rest))
            .or_else(|| bare_url(rest, i == 0 || !chars[i - 1].is_alphanumeric()))
        {
            escape_into(html, &text);
            text.clear();
            html.push_str(&markup);
            i += consumed;
        } else {
            text.push(chars[i]);
            i += 1;
        }
    }
    escape_into(html, &text);
}

/// `` `code` ``: the text between backticks, verbatim.
fn code_span(rest: &[char]) -> Option<(usize, String)> {
    if rest.first() != Some(&'`') {
        return None;
    }
    let end = rest[1..].iter().position(|c| *c == '`')? + 1;
    if end == 1 {
        return None;
    }
    let code: String = rest[1..end].iter().collect();
    let mut html = String::from("<code>");
    escape_into(&mut html, &code);
    html.push_str("</code>");
    Some((end + 1, html))
}

/// `**strong**`.
fn strong(rest: &[char]) -> Option<(usize, String)> {
    if rest.len() < 5 || rest[0] != '*' || rest[1] != '*' || rest[2].is_whitespace() {
        return None;
    }
    let inner_len = (2..rest.len() - 1)
        .find(|&j| rest[j] == '*' && rest[j + 1] == '*' && !rest[j - 1].is_whitespace())?
        - 2;
    let inner: String = rest[2..2 + inner_len].iter().collect();
    let mut html = String::from("<strong>");
    inline(&mut html, &inner);
    html.push_str("</strong>");
    Some((inner_len + 4, html))
}

/// `*emphasis*` or `_emphasis_` (underscores only at word boundaries, so `snake_case_name`
/// stays as written).
fn emphasis(rest: &[char], at_boundary: bool) -> Option<(usize, String)> {
    let marker = *rest.first()?;
    if !matches!(marker, '*' | '_') || rest.len() < 3 || rest[1].is_whitespace() {
        return None;
    }
    if marker == '_' && !at_boundary {
        return None;
    }
    let close = (2..rest.len()).find(|&j| {
        rest[j] == marker
            && !rest[j - 1].is_whitespace()
            && (marker == '*' || rest.get(j + 1).is_none_or(|c| !c.is_alphanumeric()))
    })?;
    let inner: String = rest[1..close].iter().collect();
    let mut html = String::from("<em>");
    inline(&mut html, &inner);
    html.push_str("</em>");
    Some((close + 1, html))
}

/// `[text](address)`, for addresses that are safe to follow.
fn link(rest: &[char]) -> Option<(usize, String)> {
    if rest.first() != Some(&'[') {
        return None;
    }
    let text_end = rest.iter().position(|c| *c == ']')?;
    if rest.get(text_end + 1) != Some(&'(') {
        return None;
    }
    let address_end = text_end + 2 + rest[text_end + 2..].iter().position(|c| *c == ')')?;
    let text: String = rest[1..text_end].iter().collect();
    let address: String = rest[text_end + 2..address_end].iter().collect();
    if text.trim().is_empty() || !safe_address(address.trim()) {
        return None;
    }
    let mut html = String::new();
    anchor(&mut html, address.trim(), &text);
    Some((address_end + 1, html))
}

/// A bare `http://` or `https://` URL, up to whitespace (trailing punctuation left out).
fn bare_url(rest: &[char], at_boundary: bool) -> Option<(usize, String)> {
    if !at_boundary || !matches!(rest.first(), Some('h')) {
        return None;
    }
    let head: String = rest.iter().take(8).collect();
    if !(head.starts_with("http://") || head.starts_with("https://")) {
        return None;
    }
    let mut end = rest
        .iter()
        .position(|c| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
        .unwrap_or(rest.len());
    while end > 0
        && matches!(
            rest[end - 1],
            '.' | ',' | ':' | ';' | '!' | '?' | ')' | '\''
        )
    {
        end -= 1;
    }
    let address: String = rest[..end].iter().collect();
    if address.len() <= "https://".len() {
        return None;
    }
    let mut html = String::new();
    anchor(&mut html, &address, &address);
    Some((end, html))
}

fn safe_address(address: &str) -> bool {
    let lower = address.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:"))
        && !address.chars().any(|c| c.is_control() || c.is_whitespace())
}

fn anchor(html: &mut String, address: &str, text: &str) {
    html.push_str("<a href=\"");
    escape_into(html, address);
    html.push_str("\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">");
    escape_into(html, text);
    html.push_str("</a>");
}

/// Appends `text` with HTML's special characters escaped (quotes too: it may land in an
/// attribute).
fn escape_into(html: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn the_subset_becomes_markup() {
        assert_eq!(
            render("*soft* and **loud**"),
            "<em>soft</em> and <strong>loud</strong>"
        );
        assert_eq!(render("_soft_ words"), "<em>soft</em> words");
        assert_eq!(render("use `a < b`"), "use <code>a &lt; b</code>");
        assert_eq!(
            render("before\n```\nfn main() {}\n<tag>\n```\nafter"),
            "before<pre><code>fn main() {}\n&lt;tag&gt;</code></pre>after"
        );
        assert_eq!(
            render("[the docs](https://example.org/a?b=1&c=2)"),
            "<a href=\"https://example.org/a?b=1&amp;c=2\" rel=\"nofollow noopener noreferrer\" \
             target=\"_blank\">the docs</a>"
        );
        assert_eq!(
            render("see https://example.org/x."),
            "see <a href=\"https://example.org/x\" rel=\"nofollow noopener noreferrer\" \
             target=\"_blank\">https://example.org/x</a>."
        );
    }

    #[test]
    fn raw_html_and_dangerous_links_stay_text() {
        assert_eq!(
            render("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            render("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            render("[click](javascript:alert(1))"),
            "[click](javascript:alert(1))"
        );
        assert_eq!(render("[x](data:text/html,hi)"), "[x](data:text/html,hi)");
        // A quote cannot leave the attribute.
        let quoted = render("[x](https://e.org/\"onmouseover=\"alert(1))");
        assert!(!quoted.contains("\"onmouseover"), "{quoted}");
        let bare = render("https://e.org/\"><script>");
        assert!(!bare.contains("<script>"), "{bare}");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        assert_eq!(render("snake_case_name"), "snake_case_name");
        assert_eq!(render("2 * 3 * 4"), "2 * 3 * 4");
        assert_eq!(render("a ** b"), "a ** b");
        assert_eq!(render("line one\nline two"), "line one\nline two");
        assert_eq!(render("unclosed `code"), "unclosed `code");
        assert_eq!(
            render("Tom & Jerry's \"show\""),
            "Tom &amp; Jerry&#39;s &quot;show&quot;"
        );
    }
}
