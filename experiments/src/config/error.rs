//! Config errors that name the file, the line and the dotted key.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// An experiment file that cannot be read or is not a valid experiment.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file as given.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A value, key or section that is wrong; `key` is the dotted path when one applies.
    #[error("{file}:{line}: {}{message}", key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
    Invalid {
        /// The file as given.
        file: String,
        /// 1-based line of the offending text.
        line: usize,
        /// Dotted key, e.g. `params.fast.max`.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
}

/// Where in the text a problem is: the file name and the text, for line numbers and key lookup.
pub(crate) struct Source<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    /// A problem with `key` at byte range `span`.
    pub(crate) fn error(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_string(),
            line: line_of(self.text, span.start),
            key: Some(key.into()),
            message: message.into(),
        }
    }

    /// A problem with the value at dotted `key` (its line found in the text; line 1 when the
    /// key is absent, i.e. a default that breaks a rule together with other values).
    pub(crate) fn key_error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let start = DeTable::parse(self.text).ok().and_then(|doc| span_of(doc.get_ref(), key)).unwrap_or(0);
        self.error(start..start, key, message)
    }

    /// A TOML syntax or serde error, with the key found from its span.
    pub(crate) fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let start = e.span().map_or(0, |s| s.start);
        ConfigError::Invalid {
            file: self.file.to_string(),
            line: line_of(self.text, start),
            key: e.span().and_then(|s| key_at(self.text, s.start)),
            message: e.message().to_string(),
        }
    }
}

/// 1-based line holding byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The dotted path of the innermost key whose key or value spans byte `pos` (None when the
/// text does not parse or nothing spans `pos`, e.g. a table header's brackets).
fn key_at(text: &str, pos: usize) -> Option<String> {
    let doc = DeTable::parse(text).ok()?;
    find(doc.get_ref(), pos).map(|path| path.join("."))
}

/// Start of the value at the dotted `path`, if the text has it.
fn span_of(table: &DeTable<'_>, path: &str) -> Option<usize> {
    let (head, rest) = path.split_once('.').map_or((path, None), |(h, r)| (h, Some(r)));
    let (_, value) = table.iter().find(|(k, _)| k.get_ref() == head)?;
    match (rest, value.get_ref()) {
        (None, _) => Some(value.span().start),
        (Some(rest), DeValue::Table(inner)) => span_of(inner, rest).or(Some(value.span().start)),
        (Some(_), _) => Some(value.span().start),
    }
}

/// The deepest key path spanning `pos`. A table's own span covers only its header, so every
/// table is searched whether or not it spans `pos`.
fn find(table: &DeTable<'_>, pos: usize) -> Option<Vec<String>> {
    table.iter().find_map(|(key, value)| {
        let inner = match value.get_ref() {
            DeValue::Table(inner) => find(inner, pos),
            _ => None,
        };
        let here = key.span().contains(&pos) || value.span().contains(&pos);
        let tail = inner.or_else(|| here.then(Vec::new))?;
        Some(std::iter::once(key.get_ref().to_string()).chain(tail).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_keys_come_from_byte_offsets() {
        let text = "[a]\nx = 1\n[b.c]\ny = { z = 2 }\n";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, text.find('y').unwrap()), 4);
        assert_eq!(key_at(text, text.find('x').unwrap()).as_deref(), Some("a.x"));
        assert_eq!(key_at(text, text.find('2').unwrap()).as_deref(), Some("b.c.y.z"));
        assert_eq!(key_at("[a\n", 1), None, "unparsable text has no keys");
        let src = Source { file: "f.toml", text };
        let ConfigError::Invalid { line, key, .. } = src.key_error("b.c.y.z", "bad") else { panic!() };
        assert_eq!((line, key.as_deref()), (4, Some("b.c.y.z")));
        let ConfigError::Invalid { line, .. } = src.key_error("a.missing", "bad") else { panic!() };
        assert_eq!(line, 1, "an absent key points at its table header");
    }
}
