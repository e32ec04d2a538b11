//! Java `.properties` text, read exactly as `java.util.Properties.load` reads it, because
//! RocketMQ's `broker.conf` is loaded that way (`SystemConfigFileHelper.loadConfig`).
//!
//! The rules, ported from the JDK's `Properties.LineReader` and `load0`:
//! - Natural lines end at `\n`, `\r` or `\r\n`. Leading spaces, tabs and form feeds of every
//!   natural line are dropped. Blank lines are skipped.
//! - A line whose first non-blank character is `#` or `!` is a comment (a trailing backslash
//!   does not continue it).
//! - A line ending in an odd number of backslashes continues on the next natural line; the
//!   backslash and the next line's leading blanks are dropped.
//! - The key runs to the first unescaped `=`, `:` or blank; then blanks, at most one `=` or
//!   `:`, and blanks again are skipped; the rest of the line is the value. **Trailing blanks
//!   are kept** (Java does not trim them; the config layer trims when it converts a value).
//! - Escapes in keys and values: `\t \r \n \f`, `\uXXXX` (UTF-16; surrogate pairs join), and
//!   `\x` for any other `x` is `x` itself (so `\\`, `\=`, `\:`, `\ `, `\#`). A malformed
//!   `\uXXXX` is an error, as in Java.
//! - Later duplicates of a key win (the caller applies that; [`parse`] keeps file order).
//!
//! Differences from Java, on purpose: a file that is valid UTF-8 is read as UTF-8 (Java reads
//! bytes as ISO-8859-1, so non-ASCII text written by an editor arrives garbled there); other
//! files are read as ISO-8859-1 as Java does. A leading UTF-8 byte-order mark is dropped (Java
//! would glue it to the first key). A lone UTF-16 surrogate from `\uXXXX` is an error (Java
//! keeps it in the string; Rust strings cannot hold it).

use std::borrow::Cow;

/// A `.properties` text Java would refuse, with the (1-based) line its logical line starts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct PropertiesError {
    pub line: usize,
    pub reason: String,
}

/// Bytes of a properties file as text: UTF-8 when they are valid UTF-8 (without a leading
/// byte-order mark), otherwise ISO-8859-1 (one byte, one char), which never fails.
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

/// Every `key`/`value` pair of `text` in file order, duplicates included.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, PropertiesError> {
    let chars: Vec<char> = text.chars().collect();
    let mut reader = LineReader {
        chars: &chars,
        off: 0,
    };
    let mut line = Vec::new();
    let mut entries = Vec::new();
    while let Some(start) = reader.read_line(&mut line) {
        let (key, value) = split_key_value(&line);
        let convert = |part: &[char]| {
            unescape(part).map_err(|e| PropertiesError {
                line: line_number(&chars, start),
                reason: e.to_string(),
            })
        };
        entries.push((convert(key)?, convert(value)?));
    }
    Ok(entries)
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// `Properties.LineReader`: yields logical lines with comments, blank lines, leading blanks
/// and escaped line ends removed (escapes inside the line are left for [`unescape`]).
struct LineReader<'a> {
    chars: &'a [char],
    off: usize,
}

impl LineReader<'_> {
    /// Fills `line` with the next logical line and returns the offset where it starts, or
    /// `None` at the end of the text.
    fn read_line(&mut self, line: &mut Vec<char>) -> Option<usize> {
        line.clear();
        let chars = self.chars;
        let mut start = self.off;
        let mut skip_blanks = true;
        let mut continuation_begins = false;
        let mut preceding_backslash = false;
        loop {
            let Some(&c) = chars.get(self.off) else {
                // End of text: a dangling backslash is not part of the line.
                if line.is_empty() {
                    return None;
                }
                if preceding_backslash {
                    line.pop();
                }
                return Some(start);
            };
            self.off += 1;

            if skip_blanks {
                if is_blank(c) {
                    continue;
                }
                // Blank lines are skipped, except right after an escaped line end, where an
                // empty natural line ends the logical line.
                if !continuation_begins && (c == '\r' || c == '\n') {
                    continue;
                }
                skip_blanks = false;
                continuation_begins = false;
            }
            if line.is_empty() {
                if c == '#' || c == '!' {
                    // A comment runs to the end of its natural line.
                    loop {
                        match chars.get(self.off) {
                            None => return None,
                            Some(&d) => {
                                self.off += 1;
                                if d == '\r' || d == '\n' {
                                    break;
                                }
                            }
                        }
                    }
                    skip_blanks = true;
                    continue;
                }
                start = self.off - 1;
            }

            if c != '\n' && c != '\r' {
                line.push(c);
                preceding_backslash = c == '\\' && !preceding_backslash;
                continue;
            }
            // A line end.
            if line.is_empty() {
                skip_blanks = true;
                continue;
            }
            if self.off >= chars.len() {
                if preceding_backslash {
                    line.pop();
                }
                return Some(start);
            }
            if !preceding_backslash {
                return Some(start);
            }
            // An escaped line end: drop the backslash, continue on the next natural line.
            line.pop();
            skip_blanks = true;
            continuation_begins = true;
            preceding_backslash = false;
            if c == '\r' && chars.get(self.off) == Some(&'\n') {
                self.off += 1;
            }
        }
    }
}

/// `Properties.load0`: the key ends at the first unescaped `=`, `:` or blank; the value starts
/// after blanks, at most one separator, and blanks.
fn split_key_value(line: &[char]) -> (&[char], &[char]) {
    let mut key_len = 0;
    let mut value_start = line.len();
    let mut has_separator = false;
    let mut preceding_backslash = false;
    while key_len < line.len() {
        let c = line[key_len];
        if (c == '=' || c == ':') && !preceding_backslash {
            value_start = key_len + 1;
            has_separator = true;
            break;
        } else if is_blank(c) && !preceding_backslash {
            value_start = key_len + 1;
            break;
        }
        preceding_backslash = c == '\\' && !preceding_backslash;
        key_len += 1;
    }
    while value_start < line.len() {
        let c = line[value_start];
        if !is_blank(c) {
            if !has_separator && (c == '=' || c == ':') {
                has_separator = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    (&line[..key_len], &line[value_start..])
}

/// Why an escape sequence cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum EscapeError {
    #[error("malformed \\uxxxx escape")]
    MalformedUnicode,
    #[error("a \\uXXXX escape leaves a lone UTF-16 surrogate")]
    LoneSurrogate,
}

/// `Properties.loadConvert`: resolves `\t \r \n \f \uXXXX` and `\x` → `x`.
fn unescape(part: &[char]) -> Result<String, EscapeError> {
    if !part.contains(&'\\') {
        return Ok(part.iter().collect());
    }
    // Java strings are UTF-16, and `\uD83D\uDE00` is one character there: build UTF-16.
    let mut units: Vec<u16> = Vec::with_capacity(part.len());
    let mut buf = [0u16; 2];
    let mut i = 0;
    while i < part.len() {
        let mut c = part[i];
        i += 1;
        if c == '\\' {
            // The line reader never leaves an unescaped backslash at the end of a line.
            let Some(&escaped) = part.get(i) else { break };
            i += 1;
            if escaped == 'u' {
                let hex = part.get(i..i + 4).ok_or(EscapeError::MalformedUnicode)?;
                let mut unit: u16 = 0;
                for &h in hex {
                    let digit = h.to_digit(16).ok_or(EscapeError::MalformedUnicode)?;
                    unit = (unit << 4) | digit as u16;
                }
                i += 4;
                units.push(unit);
                continue;
            }
            c = match escaped {
                't' => '\t',
                'r' => '\r',
                'n' => '\n',
                'f' => '\x0c',
                other => other,
            };
        }
        units.extend_from_slice(c.encode_utf16(&mut buf));
    }
    String::from_utf16(&units).map_err(|_| EscapeError::LoneSurrogate)
}

/// The 1-based natural line number of `offset` (`\r\n` counts as one line end).
fn line_number(chars: &[char], offset: usize) -> usize {
    let mut line = 1;
    let mut i = 0;
    while i < offset.min(chars.len()) {
        match chars[i] {
            '\n' => line += 1,
            '\r' if chars.get(i + 1) != Some(&'\n') => line += 1,
            _ => {}
        }
        i += 1;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap()
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn separators_and_blanks() {
        assert_eq!(
            pairs("a=1\nb = 2\nc:3\nd 4\ne\t=\t5\nf\n g  ==x\n"),
            vec![
                pair("a", "1"),
                pair("b", "2"),
                pair("c", "3"),
                pair("d", "4"),
                pair("e", "5"),
                pair("f", ""),
                pair("g", "=x"),
            ]
        );
    }

    #[test]
    fn trailing_blanks_are_kept_like_java() {
        assert_eq!(pairs("a = 1  \t\n"), vec![pair("a", "1  \t")]);
    }

    #[test]
    fn comments_and_blank_lines() {
        assert_eq!(
            pairs("# c\n  ! c\n\n\r\n\ta=1\r#x=y\\\nb=2"),
            vec![pair("a", "1"), pair("b", "2")]
        );
    }

    #[test]
    fn continuations() {
        assert_eq!(
            pairs("a=x,\\\n    y,\\\r\n\t z\nb=1\\\\\nc=2\\\n# not a comment\n"),
            vec![
                pair("a", "x,y,z"),
                pair("b", "1\\"),
                pair("c", "2# not a comment")
            ]
        );
        // An empty natural line after an escaped line end ends the logical line.
        assert_eq!(pairs("a=1\\\n\nb=2"), vec![pair("a", "1"), pair("b", "2")]);
        // A dangling backslash at the end of the text is dropped.
        assert_eq!(pairs("a=1\\"), vec![pair("a", "1")]);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            pairs("k\\ e\\=y\\:=a\\tb\\nc\\\\d\\u00e9\\q\\uD83D\\uDE00"),
            vec![pair("k e=y:", "a\tb\nc\\d\u{e9}q\u{1F600}")]
        );
    }

    #[test]
    fn malformed_unicode_escape_names_the_line() {
        let err = parse("a=1\n\nb=\\u12x4\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.reason.contains("\\uxxxx"), "{err}");
        assert!(parse("b=\\u12").is_err());
        assert!(parse("b=\\uD800").is_err());
    }

    #[test]
    fn decode_falls_back_to_latin1() {
        assert_eq!(decode(b"\xEF\xBB\xBFa=\xC3\xA9"), "a=\u{e9}");
        assert_eq!(decode(b"a=\xE9"), "a=\u{e9}");
    }
}
