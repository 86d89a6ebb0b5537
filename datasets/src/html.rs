//! Text for the HTML pages the project writes (the research report, the live dashboard). It
//! lives here because this is the one crate both of their crates build on.

/// Escapes `&`, `<`, `>`, `"` and `'` so any text is safe in element content and in quoted
/// attribute values.
///
/// ```
/// assert_eq!(datasets::html::escape_html(r#"<a href='x'>&"#), "&lt;a href=&#39;x&#39;&gt;&amp;");
/// ```
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
