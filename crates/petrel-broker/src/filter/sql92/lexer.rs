//! Turns the expression into tokens (the `TOKEN`/`SKIP` section of `SelectorParser.jj`).
//! Offsets are in bytes; `Sql92Filter::parse` converts them to character positions.

/// An error before conversion to a character position.
#[derive(Debug)]
pub(super) struct RawError {
    pub(super) byte_pos: usize,
    pub(super) message: String,
}

impl RawError {
    pub(super) fn new(byte_pos: usize, message: impl Into<String>) -> Self {
        Self {
            byte_pos,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keyword {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Contains,
    StartsWith,
    EndsWith,
}

impl Keyword {
    const ALL: [(&'static str, Keyword); 12] = [
        ("NOT", Keyword::Not),
        ("AND", Keyword::And),
        ("OR", Keyword::Or),
        ("BETWEEN", Keyword::Between),
        ("IN", Keyword::In),
        ("TRUE", Keyword::True),
        ("FALSE", Keyword::False),
        ("NULL", Keyword::Null),
        ("IS", Keyword::Is),
        ("CONTAINS", Keyword::Contains),
        ("STARTSWITH", Keyword::StartsWith),
        ("ENDSWITH", Keyword::EndsWith),
    ];

    fn from_word(word: &str) -> Option<Keyword> {
        Self::ALL
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
            .map(|&(_, keyword)| keyword)
    }

    pub(super) fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|&&(_, keyword)| keyword == self)
            .map_or("?", |&(name, _)| name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum TokenKind {
    /// A property name; its text is the token's span.
    Ident,
    Keyword(Keyword),
    /// A string literal, unescaped.
    Str(String),
    /// An integer literal (Java `long` range).
    Integer(i64),
    /// A decimal literal, finite.
    Decimal(f64),
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) kind: TokenKind,
    /// Byte offsets of the token in the expression; `start == end` for `Eof`.
    pub(super) start: usize,
    pub(super) end: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_ident_part(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

/// Tokenizes the whole expression; the last token is `Eof`.
pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, RawError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let next = bytes.get(i + 1).copied();
        let kind = match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                i += 1;
                continue;
            }
            b'-' if next == Some(b'-') => {
                i = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n' || b == b'\r')
                    .map_or(bytes.len(), |offset| i + offset);
                continue;
            }
            b'/' if next == Some(b'*') => {
                match src[i + 2..].find("*/") {
                    Some(offset) => i += 2 + offset + 2,
                    None => {
                        return Err(RawError::new(start, "unterminated comment starting"));
                    }
                }
                continue;
            }
            b'\'' => {
                let (value, end) = string_literal(src, start)?;
                i = end;
                TokenKind::Str(value)
            }
            b'0'..=b'9' => {
                let (kind, end) = number_literal(src, start)?;
                i = end;
                kind
            }
            b'.' if next.is_some_and(|b| b.is_ascii_digit()) => {
                let (kind, end) = number_literal(src, start)?;
                i = end;
                kind
            }
            b if is_ident_start(b) => {
                while i < bytes.len() && is_ident_part(bytes[i]) {
                    i += 1;
                }
                Keyword::from_word(&src[start..i]).map_or(TokenKind::Ident, TokenKind::Keyword)
            }
            b'=' => {
                i += 1;
                TokenKind::Eq
            }
            b'<' => match next {
                Some(b'>') => {
                    i += 2;
                    TokenKind::Ne
                }
                Some(b'=') => {
                    i += 2;
                    TokenKind::Le
                }
                _ => {
                    i += 1;
                    TokenKind::Lt
                }
            },
            b'>' => {
                if next == Some(b'=') {
                    i += 2;
                    TokenKind::Ge
                } else {
                    i += 1;
                    TokenKind::Gt
                }
            }
            b'(' => {
                i += 1;
                TokenKind::LParen
            }
            b')' => {
                i += 1;
                TokenKind::RParen
            }
            b',' => {
                i += 1;
                TokenKind::Comma
            }
            b'+' => {
                i += 1;
                TokenKind::Plus
            }
            b'-' => {
                i += 1;
                TokenKind::Minus
            }
            b'!' if next == Some(b'=') => {
                return Err(RawError::new(start, "'!=' is not supported, use '<>'"));
            }
            b'&' => return Err(RawError::new(start, "unexpected character '&' (use AND)")),
            b'|' => return Err(RawError::new(start, "unexpected character '|' (use OR)")),
            b'"' => {
                return Err(RawError::new(
                    start,
                    "unexpected character '\"' (strings are quoted with single quotes)",
                ));
            }
            _ => {
                let c = src[start..].chars().next().unwrap_or('\u{fffd}');
                return Err(RawError::new(
                    start,
                    format!("unexpected character '{}'", c.escape_debug()),
                ));
            }
        };
        tokens.push(Token {
            kind,
            start,
            end: i,
        });
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        start: bytes.len(),
        end: bytes.len(),
    });
    Ok(tokens)
}

/// `'…'` with `''` for a quote; returns the value and the offset after the closing quote.
fn string_literal(src: &str, start: usize) -> Result<(String, usize), RawError> {
    let mut value = String::new();
    let mut segment = start + 1;
    loop {
        let Some(offset) = src[segment..].find('\'') else {
            return Err(RawError::new(start, "unterminated string literal starting"));
        };
        let quote = segment + offset;
        value.push_str(&src[segment..quote]);
        if src.as_bytes().get(quote + 1) == Some(&b'\'') {
            value.push('\'');
            segment = quote + 2;
        } else {
            return Ok((value, quote + 1));
        }
    }
}

/// An integer (`DECIMAL_LITERAL`) or decimal (`FLOATING_POINT_LITERAL`) starting at `start`;
/// returns the token and the offset after it.
fn number_literal(src: &str, start: usize) -> Result<(TokenKind, usize), RawError> {
    let bytes = src.as_bytes();
    let digits_from = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits_from(start);
    let mut is_decimal = false;
    if bytes.get(i) == Some(&b'.') {
        is_decimal = true;
        i = digits_from(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            is_decimal = true;
            i = digits_from(j);
        }
    }
    let digits_end = i;
    if !is_decimal && matches!(bytes.get(i), Some(b'l' | b'L')) {
        i += 1;
    }
    // `1abc`, `1.5L`, `1.2.3`, `0x1F`: RocketMQ splits these into a number and an identifier
    // and then fails (or ignores the rest); one clear error is better. A keyword right after a
    // number (`a=1AND b=2`) is fine in RocketMQ, so it is here too.
    let mut glued_end = i;
    while glued_end < bytes.len() && (is_ident_part(bytes[glued_end]) || bytes[glued_end] == b'.') {
        glued_end += 1;
    }
    if glued_end > i && Keyword::from_word(&src[i..glued_end]).is_none() {
        return Err(RawError::new(
            start,
            format!("invalid number '{}'", &src[start..glued_end]),
        ));
    }
    let text = &src[start..i];
    if is_decimal {
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok((TokenKind::Decimal(value), i)),
            _ => Err(RawError::new(
                start,
                format!("decimal literal '{text}' is out of range"),
            )),
        }
    } else {
        let digits = &src[start..digits_end];
        if digits.len() > 1 && digits.starts_with('0') {
            return Err(RawError::new(
                start,
                format!("invalid number '{text}' (leading zeros are not allowed)"),
            ));
        }
        match digits.parse::<i64>() {
            Ok(value) => Ok((TokenKind::Integer(value), i)),
            Err(_) => Err(RawError::new(
                start,
                format!(
                    "integer literal '{text}' is out of range (the largest is {})",
                    i64::MAX
                ),
            )),
        }
    }
}
