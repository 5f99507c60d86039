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

/// How deep emphasis may nest; deeper markers stay as text. With the closers' memo below,
/// this keeps rendering linear in the text's length.
const MAX_DEPTH: usize = 4;

/// Renders one line's inline markup.
fn inline(html: &mut String, line: &str) {
    // Most lines are plain words: with no marker and no address in them, escaping is all
    // there is to do.
    let plain = !line.contains(['*', '_', '`', '[']) && !line.contains("://");
    if plain {
        escape_into(html, line);
        return;
    }
    let chars: Vec<char> = line.chars().collect();
    Inline::new(&chars).render(html, 0);
}

/// One line being rendered. Finding a closing marker never scans the same text twice: the
/// next `` ` ``, `]` and `)` after each position are computed once, and a marker with no
/// valid closer after some position has none after any later one either (whether a closer is
/// valid depends only on where it stands), so that is remembered too.
struct Inline<'a> {
    chars: &'a [char],
    next_backtick: NextOf,
    next_bracket: NextOf,
    next_paren: NextOf,
    /// The earliest opener position from which `**`, `*` and `_` found no closer.
    no_strong_from: usize,
    no_star_from: usize,
    no_under_from: usize,
    /// Positions looked at while searching for closers (how the tests see that rendering
    /// stays linear).
    scanned: usize,
}

/// Where one character occurs in a text, to find the next one after any position in
/// logarithmic time. Most messages hold few backticks, brackets or parentheses, so this keeps
/// their positions only, not one entry per character.
struct NextOf {
    positions: Vec<usize>,
    len: usize,
}

impl NextOf {
    fn new(chars: &[char], wanted: char) -> Self {
        Self {
            positions: (0..chars.len()).filter(|&i| chars[i] == wanted).collect(),
            len: chars.len(),
        }
    }

    /// The index of the next `wanted` at or after `i` (the text's length if none).
    fn at(&self, i: usize) -> usize {
        let k = self.positions.partition_point(|&p| p < i);
        self.positions.get(k).copied().unwrap_or(self.len)
    }
}

impl<'a> Inline<'a> {
    fn new(chars: &'a [char]) -> Self {
        Self {
            chars,
            next_backtick: NextOf::new(chars, '`'),
            next_bracket: NextOf::new(chars, ']'),
            next_paren: NextOf::new(chars, ')'),
            no_strong_from: usize::MAX,
            no_star_from: usize::MAX,
            no_under_from: usize::MAX,
            scanned: 0,
        }
    }

    /// Renders `chars[..]` into `html`, `depth` emphases deep.
    fn render(&mut self, html: &mut String, depth: usize) {
        self.render_range(html, 0, self.chars.len(), depth);
    }

    fn render_range(&mut self, html: &mut String, start: usize, end: usize, depth: usize) {
        let mut i = start;
        let mut text = String::new();
        while i < end {
            let at_boundary = i == start || !self.chars[i - 1].is_alphanumeric();
            let found = self
                .code_span(i, end)
                .or_else(|| self.link(i, end))
                .or_else(|| bare_url(&self.chars[i..end], at_boundary))
                .map(|(consumed, markup)| (consumed, Some(markup), None))
                .or_else(|| {
                    (depth < MAX_DEPTH)
                        .then(|| self.emphasis(i, end, at_boundary))
                        .flatten()
                        .map(|(consumed, tag, inner)| (consumed, None, Some((tag, inner))))
                });
            match found {
                Some((consumed, markup, nested)) => {
                    escape_into(html, &text);
                    text.clear();
                    if let Some(markup) = markup {
                        html.push_str(&markup);
                    }
                    if let Some((tag, (from, to))) = nested {
                        html.push_str(&format!("<{tag}>"));
                        self.render_range(html, from, to, depth + 1);
                        html.push_str(&format!("</{tag}>"));
                    }
                    i += consumed;
                }
                None => {
                    text.push(self.chars[i]);
                    i += 1;
                }
            }
        }
        escape_into(html, &text);
    }

    /// `` `code` ``: the text between backticks, verbatim.
    fn code_span(&self, i: usize, end: usize) -> Option<(usize, String)> {
        if self.chars[i] != '`' {
            return None;
        }
        let close = self.next_backtick.at(i + 1);
        if close >= end || close == i + 1 {
            return None;
        }
        let code: String = self.chars[i + 1..close].iter().collect();
        let mut html = String::from("<code>");
        escape_into(&mut html, &code);
        html.push_str("</code>");
        Some((close + 1 - i, html))
    }

    /// `**strong**`, `*emphasis*` or `_emphasis_` (underscores only at word boundaries, so
    /// `snake_case_name` stays as written): the tag, and the range of the inner text.
    fn emphasis(
        &mut self,
        i: usize,
        end: usize,
        at_boundary: bool,
    ) -> Option<(usize, &'static str, (usize, usize))> {
        let chars = self.chars;
        let marker = chars[i];
        if !matches!(marker, '*' | '_') {
            return None;
        }
        let strong = marker == '*' && chars.get(i + 1) == Some(&'*') && i + 1 < end;
        let width = if strong { 2 } else { 1 };
        let dead = if strong {
            self.no_strong_from
        } else if marker == '*' {
            self.no_star_from
        } else {
            self.no_under_from
        };
        let inner_start = i + width;
        if inner_start >= end || chars[inner_start].is_whitespace() {
            return None;
        }
        if marker == '_' && !at_boundary {
            return None;
        }
        if i >= dead {
            return None;
        }
        let valid_close = |j: usize| {
            j + width <= end
                && chars[j..j + width].iter().all(|c| *c == marker)
                && !chars[j - 1].is_whitespace()
                && (marker == '*' || chars.get(j + 1).is_none_or(|c| !c.is_alphanumeric()))
                // A single `*` does not close on half of a `**`.
                && (width == 2
                    || marker == '_'
                    || (chars[j - 1] != '*' && chars.get(j + 1) != Some(&'*')))
        };
        let mut scanned = 0;
        let close = (inner_start + 1..end).find(|&j| {
            scanned += 1;
            valid_close(j)
        });
        self.scanned += scanned;
        match close {
            Some(close) => {
                let tag = if strong { "strong" } else { "em" };
                Some((close + width - i, tag, (inner_start, close)))
            }
            None => {
                let dead = if strong {
                    &mut self.no_strong_from
                } else if marker == '*' {
                    &mut self.no_star_from
                } else {
                    &mut self.no_under_from
                };
                *dead = (*dead).min(i);
                None
            }
        }
    }

    /// `[text](address)`, for addresses that are safe to follow.
    fn link(&self, i: usize, end: usize) -> Option<(usize, String)> {
        if self.chars[i] != '[' {
            return None;
        }
        let text_end = self.next_bracket.at(i + 1);
        if text_end + 1 >= end || self.chars[text_end + 1] != '(' {
            return None;
        }
        let address_end = self.next_paren.at(text_end + 2);
        if address_end >= end {
            return None;
        }
        let text: String = self.chars[i + 1..text_end].iter().collect();
        let address: String = self.chars[text_end + 2..address_end].iter().collect();
        if text.trim().is_empty() || !safe_address(address.trim()) {
            return None;
        }
        let mut html = String::new();
        anchor(&mut html, address.trim(), &text);
        Some((address_end + 1 - i, html))
    }
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
    if !text.contains(['&', '<', '>', '"', '\'']) {
        html.push_str(text);
        return;
    }
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
    use super::{Inline, MAX_DEPTH, render};

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
    fn rendering_stays_linear_whatever_the_markers() {
        // Openers that never close used to make each scan to the end of the line.
        for body in [
            "*a ".repeat(2666),
            "[".repeat(8000),
            "[*a ".repeat(2000),
            "[_*a `".repeat(1333),
            "**a ".repeat(2000),
            "_a ".repeat(2666),
            "[x](".repeat(2000),
        ] {
            let chars: Vec<char> = body.chars().collect();
            let mut line = Inline::new(&chars);
            let mut html = String::new();
            line.render(&mut html, 0);
            assert!(!html.is_empty());
            // Each nesting level may look at the text once more; never once per marker.
            assert!(
                line.scanned <= (MAX_DEPTH + 1) * chars.len(),
                "{} positions looked at for {} characters of {:?}...",
                line.scanned,
                chars.len(),
                &body[..12]
            );
        }
        assert_eq!(render("*a **b** c*"), "<em>a <strong>b</strong> c</em>");
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
