//! fastjson's dialect of JSON: read what Java peers write, write what old Java clients expect.
//!
//! fastjson (the JSON library inside RocketMQ) writes map keys that are not strings without
//! quotes: integer keys bare (`{"brokerAddrs":{0:"10.0.0.1:10911"}}`), object keys inline
//! (`{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{...}}}`). Its reader also takes
//! single-quoted strings, trailing commas and `NaN`/`Infinity`. None of that is JSON, so
//! [`parse`] is a small tolerant parser that turns such text into a `serde_json::Value`: a
//! non-string key becomes its compact JSON text (`"0"`, `"{\"brokerName\":\"b\",...}"`), a
//! non-finite number becomes `null`. [`write`] does the reverse for chosen maps.
//!
//! The parser is recursive with a depth limit of [`MAX_DEPTH`], so no input can exhaust the
//! stack, and it allocates no more than a constant factor of its input.

use bytes::BufMut;
use serde_json::{Map, Number, Value};

/// Deepest nesting accepted (serde_json's default limit is also 128).
pub const MAX_DEPTH: usize = 128;

/// Why text is not even fastjson.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not valid UTF-8")]
    NotUtf8,
    #[error("{reason} at byte {at}")]
    Syntax { at: usize, reason: &'static str },
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// Parses fastjson text (standard JSON included) into a `Value`.
pub fn parse(bytes: &[u8]) -> Result<Value, ParseError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ParseError::NotUtf8)?;
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
    };
    let value = p.value(0)?;
    p.skip_ws();
    if p.at != p.s.len() {
        return Err(p.err("unexpected text after the value"));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> ParseError {
        ParseError::Syntax {
            at: self.at,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth >= MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        self.skip_ws();
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(q @ (b'"' | b'\'')) => self.string(q).map(Value::String),
            Some(b'-' | b'+' | b'0'..=b'9' | b'.') => self.number(),
            Some(_) => self.word(),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.at += 1; // '{'
        let mut map = Map::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(map));
                }
                None => return Err(self.err("unterminated object")),
                _ => {}
            }
            let key = self.key(depth)?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':' after an object key"));
            }
            self.at += 1;
            let value = self.value(depth + 1)?;
            map.insert(key, value);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {}
                _ => return Err(self.err("expected ',' or '}' in an object")),
            }
        }
    }

    /// A key: a string, a nested object or array (kept as its compact JSON text), or a bare
    /// token such as an integer.
    fn key(&mut self, depth: usize) -> Result<String, ParseError> {
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => self.string(q),
            Some(b'{' | b'[') => Ok(self.value(depth + 1)?.to_string()),
            _ => {
                let start = self.at;
                while let Some(b) = self.peek() {
                    if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'-' | b'+' | b'.') {
                        self.at += 1;
                    } else {
                        break;
                    }
                }
                if start == self.at {
                    return Err(self.err("expected an object key"));
                }
                // Only ASCII was consumed, so this slice is valid UTF-8.
                Ok(String::from_utf8_lossy(&self.s[start..self.at]).into_owned())
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.at += 1; // '['
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                None => return Err(self.err("unterminated array")),
                _ => {}
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {}
                _ => return Err(self.err("expected ',' or ']' in an array")),
            }
        }
    }

    fn string(&mut self, quote: u8) -> Result<String, ParseError> {
        self.at += 1; // opening quote
        let mut out = String::new();
        let mut run_start = self.at;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            if b == quote {
                out.push_str(self.run(run_start));
                self.at += 1;
                return Ok(out);
            }
            if b != b'\\' {
                self.at += 1;
                continue;
            }
            out.push_str(self.run(run_start));
            self.at += 1;
            let Some(escape) = self.peek() else {
                return Err(self.err("unterminated escape"));
            };
            self.at += 1;
            match escape {
                b'n' => out.push('\n'),
                b't' => out.push('\t'),
                b'r' => out.push('\r'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'u' => out.push(self.unicode_escape()?),
                // `\"`, `\\`, `\/`, `\'` and anything else stand for themselves.
                other if other.is_ascii() => out.push(char::from(other)),
                _ => return Err(self.err("invalid escape")),
            }
            run_start = self.at;
        }
    }

    /// The text between `start` and the cursor; both sit on ASCII bytes, so on char
    /// boundaries of the (already UTF-8 checked) input.
    fn run(&self, start: usize) -> &str {
        std::str::from_utf8(&self.s[start..self.at]).unwrap_or_default()
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self
            .s
            .get(self.at..self.at + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.err("bad \\u escape"))?;
        let code = u32::from_str_radix(text, 16).map_err(|_| self.err("bad \\u escape"))?;
        self.at += 4;
        Ok(code)
    }

    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) && self.s.get(self.at..self.at + 2) == Some(b"\\u") {
            let save = self.at;
            self.at += 2;
            let second = self.hex4()?;
            if (0xDC00..0xE000).contains(&second) {
                let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Ok(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            self.at = save;
        }
        Ok(char::from_u32(first).unwrap_or('\u{FFFD}'))
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.at;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.at += 1;
        }
        // Java's `-Infinity`.
        if self.s[start..self.at] == *b"-" && self.s[self.at..].starts_with(b"Infinity") {
            self.at += "Infinity".len();
            return Ok(Value::Null);
        }
        let text = self.run(start);
        let text = text.strip_prefix('+').unwrap_or(text);
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        match text.parse::<f64>() {
            Ok(f) => Ok(Number::from_f64(f).map_or(Value::Null, Value::Number)),
            Err(_) => Err(ParseError::Syntax {
                at: start,
                reason: "malformed number",
            }),
        }
    }

    fn word(&mut self) -> Result<Value, ParseError> {
        for (word, value) in [
            (&b"true"[..], Value::Bool(true)),
            (b"false", Value::Bool(false)),
            (b"null", Value::Null),
            (b"undefined", Value::Null),
            (b"NaN", Value::Null),
            (b"Infinity", Value::Null),
        ] {
            if self.s[self.at..].starts_with(word) {
                self.at += word.len();
                return Ok(value);
            }
        }
        Err(self.err("unexpected character"))
    }
}

/// Removes `null` members from every object, recursively: to fastjson a null member is an
/// absent one, so afterwards `#[serde(default)]` fills them in.
pub fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Writes `value` as JSON, except that the keys of any object found under a key named in
/// `raw_key_maps` are written without quotes or escaping, the way fastjson writes non-string
/// map keys. Such keys must already be JSON text (an integer, an object).
pub fn write(value: &Value, raw_key_maps: &[&str], out: &mut Vec<u8>) {
    write_value(value, raw_key_maps, false, out);
}

fn write_value(value: &Value, raw_key_maps: &[&str], raw_keys: bool, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.put_slice(b"null"),
        Value::Bool(b) => out.put_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.put_slice(n.to_string().as_bytes()),
        Value::String(s) => put_str(out, s),
        Value::Array(items) => {
            out.put_u8(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.put_u8(b',');
                }
                write_value(item, raw_key_maps, false, out);
            }
            out.put_u8(b']');
        }
        Value::Object(map) => {
            out.put_u8(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.put_u8(b',');
                }
                if raw_keys {
                    out.put_slice(key.as_bytes());
                } else {
                    put_str(out, key);
                }
                out.put_u8(b':');
                let raw = !raw_keys && raw_key_maps.contains(&key.as_str());
                write_value(item, raw_key_maps, raw, out);
            }
            out.put_u8(b'}');
        }
    }
}

/// Writes `s` as a JSON string: quotes, backslashes and control characters escaped, other
/// characters (non-ASCII included) as UTF-8, as fastjson does.
pub fn put_str(dst: &mut impl BufMut, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    dst.put_u8(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => &[],
            _ => continue,
        };
        dst.put_slice(&bytes[start..i]);
        if escape.is_empty() {
            dst.put_slice(b"\\u00");
            dst.put_u8(HEX[usize::from(b >> 4)]);
            dst.put_u8(HEX[usize::from(b & 0xf)]);
        } else {
            dst.put_slice(escape);
        }
        start = i + 1;
    }
    dst.put_slice(&bytes[start..]);
    dst.put_u8(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_unquoted_integer_keys() {
        let v = parse(br#"{"brokerAddrs":{0:"127.0.0.1:10911",1:"b"}}"#).unwrap();
        assert_eq!(
            v,
            json!({"brokerAddrs": {"0": "127.0.0.1:10911", "1": "b"}})
        );
    }

    #[test]
    fn reads_object_keys_as_their_json_text() {
        let v = parse(br#"{"t":{{"topic":"t","queueId":3}:{"maxOffset":9}}}"#).unwrap();
        let key = v["t"].as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(
            serde_json::from_str::<Value>(&key).unwrap(),
            json!({"topic":"t","queueId":3})
        );
    }

    #[test]
    fn reads_fastjson_leniencies() {
        let v = parse(b"{'a':[1,2,],\"b\":NaN,\"c\":-Infinity,\"d\":\"\\u00e9\\ud83d\\ude00\",}")
            .unwrap();
        assert_eq!(v, json!({"a": [1, 2], "b": null, "c": null, "d": "é😀"}));
    }

    #[test]
    fn rejects_garbage_and_deep_nesting() {
        for bad in [
            &b"{"[..],
            b"{\"a\" 1}",
            b"[1 2]",
            b"\"open",
            b"tru",
            b"{} x",
            b"",
            b"-",
        ] {
            assert!(
                parse(bad).is_err(),
                "{:?} parsed",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(parse(b"\"\xff\""), Err(ParseError::NotUtf8));
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(deep.as_bytes()), Err(ParseError::TooDeep));
    }

    #[test]
    fn writes_raw_keys_only_where_asked() {
        let v = json!({"brokerAddrs": {"0": "a"}, "other": {"0": "b"}});
        let mut out = Vec::new();
        write(&v, &["brokerAddrs"], &mut out);
        assert_eq!(out, br#"{"brokerAddrs":{0:"a"},"other":{"0":"b"}}"#);
        assert_eq!(parse(&out).unwrap(), v);
    }
}
