//! A serde deserializer over a parsed JSON value that reads the scalars of a body the way the
//! Java broker's fastjson does, whatever the client wrote.
//!
//! Clients differ in how they write the same field: the C++ client family (behind the Python,
//! Go-cgo and PHP clients) writes numbers as JSON strings (`"subVersion":"1795500287276"`), the
//! Go client writes a tag subscription's `codeSet` as strings, some write booleans as `"true"`
//! or `1`. fastjson converts all of these; so does [`Lenient`]:
//! - an integer or float field accepts a number or a string holding one (surrounding
//!   whitespace allowed);
//! - a boolean field accepts `true`/`false`, the strings `"true"`/`"false"` in any case and
//!   `"1"`/`"0"`, and the numbers 1 and 0;
//! - a string field accepts a string, a number or a boolean (as its JSON text);
//! - map keys get the same treatment (fastjson writes integer keys bare or quoted);
//! - everything else (objects, arrays, `null` for an `Option`) is as in `serde_json`.
//!
//! It is used only after the strict decode fails (see [`super::decode_json`]), so bodies from
//! well-behaved clients pay nothing for it. It never panics and allocates only what the value
//! already holds.

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Number, Value};

use crate::remoting::header::parse_bool;

/// Deserializes a `T` from `value`, converting scalars as fastjson does.
pub(crate) fn from_value<T: de::DeserializeOwned>(value: Value) -> Result<T, serde_json::Error> {
    T::deserialize(Lenient(value))
}

/// A JSON value read leniently (see the module docs).
pub(crate) struct Lenient(pub(crate) Value);

type Error = serde_json::Error;

fn visit_number<'de, V: Visitor<'de>>(n: &Number, visitor: V) -> Result<V::Value, Error> {
    if let Some(u) = n.as_u64() {
        visitor.visit_u64(u)
    } else if let Some(i) = n.as_i64() {
        visitor.visit_i64(i)
    } else {
        visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
    }
}

impl Lenient {
    /// The value as an integer, if it is one or a string holding one.
    fn integer<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => {
                let text = s.trim();
                if let Ok(i) = text.parse::<i64>() {
                    visitor.visit_i64(i)
                } else if let Ok(u) = text.parse::<u64>() {
                    visitor.visit_u64(u)
                } else {
                    Err(de::Error::invalid_value(
                        de::Unexpected::Str(&s),
                        &"an integer",
                    ))
                }
            }
            other => Lenient(other).deserialize_any_inner(visitor),
        }
    }

    fn float<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(f) => visitor.visit_f64(f),
                Err(_) => Err(de::Error::invalid_value(
                    de::Unexpected::Str(&s),
                    &"a number",
                )),
            },
            other => Lenient(other).deserialize_any_inner(visitor),
        }
    }

    fn deserialize_any_inner<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => visit_number(&n, visitor),
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => visitor.visit_seq(Seq {
                items: items.into_iter(),
            }),
            Value::Object(map) => visitor.visit_map(Members::new(map)),
        }
    }
}

impl<'de> de::Deserializer<'de> for Lenient {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any_inner(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Bool(b) => visitor.visit_bool(b),
            Value::String(s) => match parse_bool(&s) {
                Some(b) => visitor.visit_bool(b),
                None => Err(de::Error::invalid_value(
                    de::Unexpected::Str(&s),
                    &"a boolean",
                )),
            },
            Value::Number(n) if n.as_u64() == Some(1) => visitor.visit_bool(true),
            Value::Number(n) if n.as_u64() == Some(0) => visitor.visit_bool(false),
            other => Lenient(other).deserialize_any_inner(visitor),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.float(visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.float(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Number(n) => visitor.visit_string(n.to_string()),
            Value::Bool(b) => visitor.visit_string(b.to_string()),
            other => Lenient(other).deserialize_any_inner(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Lenient(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        // Externally tagged enums as serde_json reads them; Java enums in bodies have their
        // own Deserialize (by name or ordinal) and never come here.
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        char bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct Seq {
    items: std::vec::IntoIter<Value>,
}

impl<'de> SeqAccess<'de> for Seq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            Some(value) => seed.deserialize(Lenient(value)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Members {
    members: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl Members {
    fn new(map: Map<String, Value>) -> Self {
        Members {
            members: map.into_iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for Members {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.members.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(Lenient(Value::String(key))).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(Lenient(value)),
            None => Err(de::Error::custom(
                "a map value was asked for before its key",
            )),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

impl<'de> IntoDeserializer<'de, Error> for Lenient {
    type Deserializer = Lenient;

    fn into_deserializer(self) -> Lenient {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Sample {
        sub_version: i64,
        queue_id: i32,
        code_set: BTreeSet<i32>,
        class_filter_mode: bool,
        unit_mode: Option<bool>,
        ratio: f64,
        name: String,
        table: BTreeMap<i32, i64>,
        nested: Vec<Sample>,
    }

    #[test]
    fn reads_numbers_and_booleans_written_as_strings() {
        let value = json!({
            "subVersion": "1795500287276",
            "queueId": " 3 ",
            "codeSet": ["2598919", 17],
            "classFilterMode": "false",
            "unitMode": "1",
            "ratio": "0.5",
            "name": 42,
            "table": {"0": "5", "1": 7},
            "nested": [{"queueId": "9", "classFilterMode": 1}],
            "unknownField": {"ignored": [1, 2]}
        });
        let sample: Sample = from_value(value).unwrap();
        assert_eq!(sample.sub_version, 1_795_500_287_276);
        assert_eq!(sample.queue_id, 3);
        assert_eq!(sample.code_set, BTreeSet::from([17, 2_598_919]));
        assert!(!sample.class_filter_mode);
        assert_eq!(sample.unit_mode, Some(true));
        assert_eq!(sample.ratio, 0.5);
        assert_eq!(sample.name, "42");
        assert_eq!(sample.table, BTreeMap::from([(0, 5), (1, 7)]));
        assert_eq!(sample.nested[0].queue_id, 9);
        assert!(sample.nested[0].class_filter_mode);
    }

    #[test]
    fn refuses_what_is_not_a_number_with_a_clear_error() {
        let err = from_value::<Sample>(json!({"queueId": "three"})).unwrap_err();
        assert!(err.to_string().contains("an integer"), "{err}");
        let err = from_value::<Sample>(json!({"classFilterMode": "maybe"})).unwrap_err();
        assert!(err.to_string().contains("a boolean"), "{err}");
        // Out of range for the field's type: refused, not wrapped.
        assert!(from_value::<Sample>(json!({"queueId": "4294967296"})).is_err());
    }
}
