//! Text to HTML: escaping, and `$…$` mathematics converted to MathML on the server so pages need
//! no script or CDN. Markup in paper data never becomes markup on the page.

use maud::{Markup, PreEscaped};

pub use paperboy_search::text::escape_html as escape;

/// Escapes `text` and turns `$…$` spans into inline MathML. A span that does not convert, or that
/// holds characters MathML would need escaped, is shown as its escaped source.
pub fn with_math(text: &str) -> Markup {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(start) = find_dollar(rest, 0) {
        let Some(end) = find_dollar(rest, start + 1) else {
            break;
        };
        out.push_str(&escape(&rest[..start]));
        let tex = &rest[start + 1..end];
        out.push_str(&math(tex).unwrap_or_else(|| escape(&rest[start..=end])));
        rest = &rest[end + 1..];
    }
    out.push_str(&escape(rest));
    PreEscaped(out)
}

/// The next unescaped `$` at or after `from`.
fn find_dollar(s: &str, from: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    (from..bytes.len()).find(|&i| bytes[i] == b'$' && (i == 0 || bytes[i - 1] != b'\\'))
}

fn math(tex: &str) -> Option<String> {
    let tex = tex.trim();
    if tex.is_empty() || tex.len() > 400 || tex.contains(['<', '>', '&', '"', '\'', '$']) {
        return None;
    }
    let mathml = latex2mathml::latex_to_mathml(tex, latex2mathml::DisplayStyle::Inline).ok()?;
    // Defence in depth: the converter only emits MathML elements.
    (!mathml.to_ascii_lowercase().contains("<script") && !mathml.contains(" on")).then_some(mathml)
}

/// Collapses whitespace (sources wrap titles and abstracts with hard line breaks).
pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Percent-escapes what may not stand in a URL path (author names have spaces).
pub fn path_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_addresses_escape_author_names() {
        assert_eq!(
            path_escape("author/Grace Hopper.atom"),
            "author/Grace%20Hopper.atom"
        );
    }

    #[test]
    fn math_becomes_mathml_and_text_is_escaped() {
        let html = with_math("$f$-Divergence <b>bold</b>").into_string();
        assert!(html.starts_with("<math"), "{html}");
        assert!(html.contains("<mi>f</mi>"), "{html}");
        assert!(
            html.ends_with("-Divergence &lt;b&gt;bold&lt;/b&gt;"),
            "{html}"
        );
    }

    #[test]
    fn markup_inside_math_is_not_trusted() {
        let html = with_math("$<script>alert(1)</script>$").into_string();
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
    }

    #[test]
    fn lone_and_escaped_dollars_stay_text() {
        assert_eq!(with_math("costs $5").into_string(), "costs $5");
        assert_eq!(with_math(r"a \$ b").into_string(), r"a \$ b");
    }
}
