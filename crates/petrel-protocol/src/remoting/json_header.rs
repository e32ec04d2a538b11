//! The JSON header (serialize type 0), as fastjson writes and reads it.
//!
//! Decoding is as lenient as the Java broker: unknown keys are ignored; `code`, `opaque`,
//! `flag` and `version` may be numbers or numeric strings; `language` may be a name or an
//! ordinal; `remark` and `extFields` may be null or absent; `extFields` values may be strings,
//! numbers or booleans (C++-family clients send numbers) and are kept in their string form.
//! `serializeTypeCurrentRPC` is ignored: the frame's type byte is what counts.
//!
//! Encoding writes what Java writes, keys in fastjson's alphabetical order:
//! `{"code":..,"extFields":{..},"flag":..,"language":"..","opaque":..,"remark":"..",
//! "serializeTypeCurrentRPC":"JSON","version":..}` with `extFields` left out when empty and
//! `remark` when `None`.

use bytes::{BufMut, BytesMut};
use serde_json::Value;

use super::codes::{LanguageCode, SerializeType};
use super::error::FrameError;
use super::ext_fields::ExtFields;
use super::fastjson::put_str;
use super::frame::RemotingCommand;

/// Decodes a JSON header into a command with an empty body.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, FrameError> {
    let text = std::str::from_utf8(header).map_err(|_| FrameError::NotUtf8("JSON header"))?;
    let value: Value = serde_json::from_str(text).map_err(|e| FrameError::Json(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(FrameError::Json(format!(
            "expected an object, found {}",
            kind(&value)
        )));
    };
    // Java's defaults for absent fields.
    let mut cmd = RemotingCommand {
        code: 0,
        language: LanguageCode::Java,
        version: 0,
        opaque: 0,
        flag: 0,
        serialize_type: SerializeType::Json,
        ..RemotingCommand::default()
    };
    for (key, value) in object {
        // fastjson matches property names without regard to case.
        match key.to_ascii_lowercase().as_str() {
            "code" => cmd.code = int_field("code", &value)?,
            "language" => cmd.language = language_field(&value)?,
            "version" => cmd.version = int_field("version", &value)?,
            "opaque" => cmd.opaque = int_field("opaque", &value)?,
            "flag" => cmd.flag = int_field("flag", &value)?,
            "remark" => cmd.remark = remark_field(value),
            "extfields" => cmd.ext_fields = ext_fields(value)?,
            _ => {}
        }
    }
    Ok(cmd)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn int_field(field: &'static str, value: &Value) -> Result<i32, FrameError> {
    let bad = |reason: String| FrameError::JsonField { field, reason };
    match value {
        Value::Null => Ok(0),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i32::try_from(i).map_err(|_| bad(format!("{i} is out of int32 range")))
            } else {
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f >= i32::MIN as f64 && f <= i32::MAX as f64 => {
                        Ok(f as i32)
                    }
                    _ => Err(bad(format!("{n} is not an int32"))),
                }
            }
        }
        Value::String(s) => s
            .trim()
            .parse::<i32>()
            .map_err(|_| bad(format!("{s:?} is not an int32"))),
        other => Err(bad(format!("expected a number, found {}", kind(other)))),
    }
}

fn language_field(value: &Value) -> Result<LanguageCode, FrameError> {
    match value {
        Value::Null => Ok(LanguageCode::Java),
        // An unknown name is kept as OTHER rather than rejected: the language is informational.
        Value::String(name) => Ok(LanguageCode::from_name(name.trim())
            .or_else(|| name.trim().parse::<u8>().ok().map(LanguageCode::from_code))
            .unwrap_or(LanguageCode::Other)),
        Value::Number(_) => {
            let code = int_field("language", value)?;
            u8::try_from(code)
                .map(LanguageCode::from_code)
                .map_err(|_| FrameError::JsonField {
                    field: "language",
                    reason: format!("code {code} is out of range"),
                })
        }
        other => Err(FrameError::JsonField {
            field: "language",
            reason: format!("expected a name or a number, found {}", kind(other)),
        }),
    }
}

fn remark_field(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

fn ext_fields(value: Value) -> Result<ExtFields, FrameError> {
    let object = match value {
        Value::Null => return Ok(ExtFields::new()),
        Value::Object(object) => object,
        other => {
            return Err(FrameError::JsonField {
                field: "extFields",
                reason: format!("expected an object, found {}", kind(&other)),
            })
        }
    };
    let mut fields = ExtFields::new();
    for (key, value) in object {
        let text = match value {
            // A null value is an absent field to Java.
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            nested @ (Value::Array(_) | Value::Object(_)) => nested.to_string(),
        };
        fields.insert(key, text);
    }
    Ok(fields)
}

/// Appends `cmd`'s header as JSON. Cannot fail.
pub fn encode(cmd: &RemotingCommand, dst: &mut BytesMut) {
    dst.put_slice(b"{\"code\":");
    put_int(dst, cmd.code);
    if !cmd.ext_fields.is_empty() {
        dst.put_slice(b",\"extFields\":{");
        for (i, (key, value)) in cmd.ext_fields.iter().enumerate() {
            if i > 0 {
                dst.put_u8(b',');
            }
            put_str(dst, key);
            dst.put_u8(b':');
            put_str(dst, value);
        }
        dst.put_u8(b'}');
    }
    dst.put_slice(b",\"flag\":");
    put_int(dst, cmd.flag);
    dst.put_slice(b",\"language\":");
    put_str(dst, cmd.language.name());
    dst.put_slice(b",\"opaque\":");
    put_int(dst, cmd.opaque);
    if let Some(remark) = &cmd.remark {
        dst.put_slice(b",\"remark\":");
        put_str(dst, remark);
    }
    dst.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    put_int(dst, cmd.version);
    dst.put_u8(b'}');
}

fn put_int(dst: &mut BytesMut, n: i32) {
    dst.put_slice(n.to_string().as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_str(text: &str) -> Result<RemotingCommand, FrameError> {
        decode(text.as_bytes())
    }

    #[test]
    fn encodes_fields_in_fastjson_order() {
        let cmd = RemotingCommand {
            code: 310,
            language: LanguageCode::Java,
            version: 479,
            opaque: 42,
            flag: 0,
            remark: Some("a \"quoted\"\nline".into()),
            ext_fields: [("b", "TopicTest"), ("a", "group")].into_iter().collect(),
            ..RemotingCommand::default()
        };
        let mut dst = BytesMut::new();
        encode(&cmd, &mut dst);
        assert_eq!(
            std::str::from_utf8(&dst).unwrap(),
            r#"{"code":310,"extFields":{"a":"group","b":"TopicTest"},"flag":0,"language":"JAVA","opaque":42,"remark":"a \"quoted\"\nline","serializeTypeCurrentRPC":"JSON","version":479}"#
        );
    }

    #[test]
    fn omits_empty_ext_fields_and_absent_remark() {
        let cmd = RemotingCommand {
            code: 0,
            flag: 1,
            ..RemotingCommand::default()
        };
        let mut dst = BytesMut::new();
        encode(&cmd, &mut dst);
        assert_eq!(
            std::str::from_utf8(&dst).unwrap(),
            r#"{"code":0,"flag":1,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":479}"#
        );
    }

    #[test]
    fn escapes_control_characters() {
        let mut dst = BytesMut::new();
        put_str(&mut dst, "\u{1}é\\");
        assert_eq!(&dst[..], "\"\\u0001é\\\\\"".as_bytes());
    }

    #[test]
    fn accepts_numbers_and_booleans_in_ext_fields() {
        let cmd = decode_str(
            r#"{"code":"11","language":"CPP","opaque":7,"flag":0,"version":"0",
                "extFields":{"queueId":3,"sysFlag":0,"unitMode":false,"queueOffset":9007199254740993,
                              "topic":"t","gone":null}}"#,
        )
        .unwrap();
        assert_eq!(cmd.code, 11);
        assert_eq!(cmd.language, LanguageCode::Cpp);
        assert_eq!(cmd.ext_fields.get("queueId"), Some("3"));
        assert_eq!(cmd.ext_fields.get("unitMode"), Some("false"));
        assert_eq!(cmd.ext_fields.get("queueOffset"), Some("9007199254740993"));
        assert_eq!(cmd.ext_fields.get("gone"), None);
        assert_eq!(cmd.remark, None);
    }

    #[test]
    fn accepts_language_ordinals_unknown_keys_and_missing_fields() {
        let cmd = decode_str(r#"{"code":34,"language":9,"somethingNew":[1,2]}"#).unwrap();
        assert_eq!(cmd.language, LanguageCode::Go);
        assert_eq!((cmd.opaque, cmd.flag, cmd.version), (0, 0, 0));
        assert!(cmd.ext_fields.is_empty());
        let cmd = decode_str(r#"{"code":34,"language":"KOTLIN","remark":null}"#).unwrap();
        assert_eq!(cmd.language, LanguageCode::Other);
    }

    #[test]
    fn rejects_garbage_with_typed_errors() {
        assert!(matches!(decode_str("{not json"), Err(FrameError::Json(_))));
        assert!(matches!(decode_str("[1,2]"), Err(FrameError::Json(_))));
        assert!(matches!(
            decode_str(r#"{"code":"ten"}"#),
            Err(FrameError::JsonField { field: "code", .. })
        ));
        assert!(matches!(
            decode_str(r#"{"opaque":4294967296}"#),
            Err(FrameError::JsonField {
                field: "opaque",
                ..
            })
        ));
        assert!(matches!(
            decode_str(r#"{"extFields":[1]}"#),
            Err(FrameError::JsonField {
                field: "extFields",
                ..
            })
        ));
        assert_eq!(
            decode(b"{\"remark\":\"\xff\"}"),
            Err(FrameError::NotUtf8("JSON header"))
        );
    }
}
