//! Typed custom headers: the structs Java flattens into `extFields`.
//!
//! Each request or response header is a plain struct that implements [`CommandHeader`]. Field
//! names on the wire are Java's (checked against `remoting/.../protocol/header/*.java` in Apache
//! RocketMQ 5.x); Rust fields use RocketMQ's vocabulary in snake case. Required fields are the
//! ones Java marks `@CFNotNull`; everything else is an `Option` or has Java's default.
//!
//! Parsing is lenient where clients differ and strict where a value is unusable:
//! integers may have surrounding whitespace; booleans accept `true`/`false` in any case and
//! `1`/`0` (C++ clients send those); a missing required field is [`HeaderError::MissingField`]
//! and a value that cannot be parsed is [`HeaderError::InvalidField`]. (Java itself logs and
//! skips an unparsable value, leaving the field null; we report it instead so the processor can
//! answer with a clear remark.) Unknown fields are ignored. The optional 5.x RPC fields (`ns`,
//! `nsd`, `bname`, `oway`, `lo`) are kept in [`RpcFields`] and never required.

mod admin;
mod client;
mod controller;
mod message;
mod namesrv;
mod offset;
mod pop;
mod pull;
mod send;

pub use admin::*;
pub use client::*;
pub use controller::*;
pub use message::*;
pub use namesrv::*;
pub use offset::*;
pub use pop::*;
pub use pull::*;
pub use send::*;

use super::ext_fields::ExtFields;

/// A typed view of a command's `extFields`.
pub trait CommandHeader: Sized {
    /// The wire names and kinds of the fields this header reads and writes.
    const FIELDS: &'static [(&'static str, FieldKind)];

    /// Reads the header from `fields`, ignoring fields it does not know.
    fn decode(fields: &ExtFields) -> Result<Self, HeaderError>;

    /// Writes every non-`None` field into `fields`, as Java's `makeCustomHeaderToNet` does.
    fn encode(&self, fields: &mut ExtFields);

    /// The header as a fresh field map.
    fn to_ext_fields(&self) -> ExtFields {
        let mut fields = ExtFields::new();
        self.encode(&mut fields);
        fields
    }
}

/// Why a typed header could not be read from `extFields`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A field Java marks `@CFNotNull` is absent.
    #[error("the custom header field {0} is missing")]
    MissingField(&'static str),
    /// A field is present but its value cannot be parsed.
    #[error("the custom header field {name} = {value:?} is not {expected}")]
    InvalidField {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// The type of a header field on the wire, for schema listings and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    String,
    Int,
    Long,
    Bool,
    Boundary,
}

/// A value that travels as one `extFields` string.
pub trait HeaderValue: Sized {
    const KIND: FieldKind;
    /// What a valid value looks like, for error messages.
    const EXPECTED: &'static str;
    fn parse(text: &str) -> Option<Self>;
    fn render(&self) -> String;
}

impl HeaderValue for String {
    const KIND: FieldKind = FieldKind::String;
    const EXPECTED: &'static str = "a string";
    fn parse(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
    fn render(&self) -> String {
        self.clone()
    }
}

impl HeaderValue for i32 {
    const KIND: FieldKind = FieldKind::Int;
    const EXPECTED: &'static str = "an int32";
    fn parse(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl HeaderValue for i64 {
    const KIND: FieldKind = FieldKind::Long;
    const EXPECTED: &'static str = "an int64";
    fn parse(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl HeaderValue for bool {
    const KIND: FieldKind = FieldKind::Bool;
    const EXPECTED: &'static str = "a boolean (true/false/1/0)";
    fn parse(text: &str) -> Option<Self> {
        parse_bool(text)
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

/// `true`/`false` in any case, or `1`/`0`, with surrounding whitespace allowed.
pub fn parse_bool(text: &str) -> Option<bool> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("true") || text == "1" {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") || text == "0" {
        Some(false)
    } else {
        None
    }
}

/// Which side of a timestamp `SEARCH_OFFSET_BY_TIMESTAMP` looks for (`BoundaryType.java`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BoundaryType {
    #[default]
    Lower,
    Upper,
}

impl HeaderValue for BoundaryType {
    const KIND: FieldKind = FieldKind::Boundary;
    const EXPECTED: &'static str = "LOWER or UPPER";
    /// Java's `BoundaryType.getType`: `upper` in any case is UPPER, anything else LOWER.
    fn parse(text: &str) -> Option<Self> {
        if text.trim().eq_ignore_ascii_case("upper") {
            Some(BoundaryType::Upper)
        } else {
            Some(BoundaryType::Lower)
        }
    }
    /// The enum constant's name, which is what Java's `toString` writes.
    fn render(&self) -> String {
        match self {
            BoundaryType::Lower => "LOWER".into(),
            BoundaryType::Upper => "UPPER".into(),
        }
    }
}

/// Reads a field Java marks `@CFNotNull`.
pub(crate) fn required<T: HeaderValue>(
    fields: &ExtFields,
    name: &'static str,
) -> Result<T, HeaderError> {
    optional(fields, name)?.ok_or(HeaderError::MissingField(name))
}

/// Reads a nullable field; absent is `None`, unparsable is an error.
pub(crate) fn optional<T: HeaderValue>(
    fields: &ExtFields,
    name: &'static str,
) -> Result<Option<T>, HeaderError> {
    match fields.get(name) {
        None => Ok(None),
        Some(text) => T::parse(text)
            .map(Some)
            .ok_or_else(|| HeaderError::InvalidField {
                name,
                value: text.to_owned(),
                expected: T::EXPECTED,
            }),
    }
}

/// Writes a field.
pub(crate) fn put<T: HeaderValue>(fields: &mut ExtFields, name: &str, value: &T) {
    fields.insert(name, value.render());
}

/// Writes a field if it is `Some`.
pub(crate) fn put_opt<T: HeaderValue>(fields: &mut ExtFields, name: &str, value: &Option<T>) {
    if let Some(value) = value {
        put(fields, name, value);
    }
}

/// The optional fields 5.x request headers inherit from `RpcRequestHeader` and
/// `TopicRequestHeader`. 4.x clients never send them. An unparsable boolean here is treated as
/// absent rather than failing the request, because nothing a broker does depends on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpcFields {
    /// `ns`: namespace.
    pub namespace: Option<String>,
    /// `nsd`: whether names are already namespaced.
    pub namespaced: Option<bool>,
    /// `bname`: target broker name (proxy, static topics). `n` in `SEND_MESSAGE_V2`.
    pub broker_name: Option<String>,
    /// `oway`: oneway.
    pub oneway: Option<bool>,
    /// `lo`: logical queue (static topics).
    pub logic: Option<bool>,
}

impl RpcFields {
    pub const FIELDS: &'static [(&'static str, FieldKind)] = &[
        ("ns", FieldKind::String),
        ("nsd", FieldKind::Bool),
        ("bname", FieldKind::String),
        ("oway", FieldKind::Bool),
        ("lo", FieldKind::Bool),
    ];

    pub fn decode(fields: &ExtFields) -> RpcFields {
        let flag = |name| fields.get(name).and_then(parse_bool);
        RpcFields {
            namespace: fields.get("ns").map(str::to_owned),
            namespaced: flag("nsd"),
            broker_name: fields.get("bname").map(str::to_owned),
            oneway: flag("oway"),
            logic: flag("lo"),
        }
    }

    pub fn encode(&self, fields: &mut ExtFields) {
        put_opt(fields, "ns", &self.namespace);
        put_opt(fields, "nsd", &self.namespaced);
        put_opt(fields, "bname", &self.broker_name);
        put_opt(fields, "oway", &self.oneway);
        put_opt(fields, "lo", &self.logic);
    }
}

/// Declares a header struct and its [`CommandHeader`] impl from a field list:
/// `rust_name: Type = "wireName" required|optional|default(expr),`. Writing `: rpc` after the
/// struct name adds a `pub rpc: RpcFields` member for headers that extend `RpcRequestHeader`.
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident $(: $rpc:ident)? {
            $(
                $(#[$field_meta:meta])*
                $field:ident : $ty:ty = $wire:literal $mode:ident $(($default:expr))?,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $(
                $(#[$field_meta])*
                #[doc = concat!("Wire name `", $wire, "`.")]
                pub $field: command_header!(@type $mode $ty),
            )*
            $(
                /// Optional 5.x RPC fields.
                pub $rpc: $crate::remoting::header::RpcFields,
            )?
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $($field: command_header!(@default $mode $($default)?),)*
                    $($rpc: $crate::remoting::header::RpcFields::default(),)?
                }
            }
        }

        impl $crate::remoting::header::CommandHeader for $name {
            const FIELDS: &'static [(&'static str, $crate::remoting::header::FieldKind)] = &[
                $(($wire, <$ty as $crate::remoting::header::HeaderValue>::KIND),)*
            ];

            fn decode(
                fields: &$crate::remoting::ExtFields,
            ) -> Result<Self, $crate::remoting::header::HeaderError> {
                Ok($name {
                    $($field: command_header!(@decode $mode fields $wire $ty $(, $default)?),)*
                    $($rpc: $crate::remoting::header::RpcFields::decode(fields),)?
                })
            }

            fn encode(&self, fields: &mut $crate::remoting::ExtFields) {
                $(command_header!(@encode $mode fields $wire &self.$field);)*
                $(self.$rpc.encode(fields);)?
            }
        }
    };

    (@type required $ty:ty) => { $ty };
    (@type default $ty:ty) => { $ty };
    (@type optional $ty:ty) => { Option<$ty> };

    (@default required) => { Default::default() };
    (@default optional) => { None };
    (@default default $default:expr) => { $default };

    (@decode required $fields:ident $wire:literal $ty:ty) => {
        $crate::remoting::header::required::<$ty>($fields, $wire)?
    };
    (@decode optional $fields:ident $wire:literal $ty:ty) => {
        $crate::remoting::header::optional::<$ty>($fields, $wire)?
    };
    (@decode default $fields:ident $wire:literal $ty:ty, $default:expr) => {
        $crate::remoting::header::optional::<$ty>($fields, $wire)?.unwrap_or($default)
    };

    (@encode optional $fields:ident $wire:literal $value:expr) => {
        $crate::remoting::header::put_opt($fields, $wire, $value)
    };
    (@encode $mode:ident $fields:ident $wire:literal $value:expr) => {
        $crate::remoting::header::put($fields, $wire, $value)
    };
}
pub(crate) use command_header;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lenient_values() {
        assert_eq!(parse_bool(" TRUE "), Some(true));
        assert_eq!(parse_bool("1"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(i32::parse(" 42\n"), Some(42));
        assert_eq!(i64::parse("3.0"), None);
        assert_eq!(BoundaryType::parse("upper"), Some(BoundaryType::Upper));
        assert_eq!(BoundaryType::parse("whatever"), Some(BoundaryType::Lower));
    }

    #[test]
    fn reports_missing_and_invalid_fields() {
        let fields: ExtFields = [("queueId", "x")].into_iter().collect();
        assert_eq!(
            required::<String>(&fields, "topic"),
            Err(HeaderError::MissingField("topic"))
        );
        assert_eq!(
            required::<i32>(&fields, "queueId"),
            Err(HeaderError::InvalidField {
                name: "queueId",
                value: "x".into(),
                expected: "an int32"
            })
        );
    }

    #[test]
    fn tolerates_malformed_rpc_fields() {
        let fields: ExtFields = [("ns", "tenant"), ("oway", "maybe"), ("lo", "1")]
            .into_iter()
            .collect();
        let rpc = RpcFields::decode(&fields);
        assert_eq!(rpc.namespace.as_deref(), Some("tenant"));
        assert_eq!(rpc.oneway, None);
        assert_eq!(rpc.logic, Some(true));
    }
}
