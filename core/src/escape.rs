//! How names from outside (file names, object keys, server text) are shown in errors,
//! warnings and notes: one rule, so that no raw control character ever reaches a terminal.
//!
//! A file name can hold ESC sequences or newlines (a source tree is not trusted, nor is a
//! `metadata.json` read back from the store). Shown names use Rust's `escape_debug` forms for
//! the characters that could move the cursor, recolour or forge lines: C0/C1 controls and
//! DEL (`\n`, `\t`, `\u{1b}`, `\u{9b}`), and the Unicode bidirectional overrides and isolates
//! (`\u{202e}`, ...), which reorder what a terminal displays. Everything else is kept as is,
//! so names in any script stay readable.

use std::borrow::Cow;
use std::path::Path;

/// Whether `c` is shown escaped: a control character or a bidirectional formatting mark.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [`is_unsafe`] character replaced by its `escape_debug` form
/// (`a\x1bb\n` → `a\u{1b}b\n` as literal backslash text). Borrowed when nothing changes.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A local path fit to print: its text with [`escape_controls`] applied, or for a name that
/// is not UTF-8, Rust's `Debug` form of it (quoted, invalid bytes as `\xNN`).
pub fn shown_path(path: &Path) -> String {
    match path.to_str() {
        Some(text) => escape_controls(text).into_owned(),
        None => format!("{path:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_marks_are_escaped_other_text_is_kept() {
        assert_eq!(escape_controls("a\u{1b}[31mb\nc"), "a\\u{1b}[31mb\\nc");
        assert_eq!(escape_controls("x\u{202e}y\u{7f}\u{9b}"), "x\\u{202e}y\\u{7f}\\u{9b}");
        assert_eq!(escape_controls("日本語 ファイル.txt"), "日本語 ファイル.txt");
        assert!(matches!(escape_controls("plain/name"), Cow::Borrowed(_)));
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_paths_show_their_bytes_escaped() {
        use std::os::unix::ffi::OsStrExt as _;
        let path = Path::new(std::ffi::OsStr::from_bytes(b"dir/a\xffb"));
        assert_eq!(shown_path(path), "\"dir/a\\xFFb\"");
        assert_eq!(shown_path(Path::new("a\nb")), "a\\nb");
    }
}
