//! Evaluation with RocketMQ's values and conversions (`ComparisonExpression`,
//! `LogicExpression`, `UnaryExpression`). Each Java value class has a `Value` variant; Java's
//! `null` is `Value::Null`; an exception thrown during evaluation is `Err(Abort)`.

use std::cmp::Ordering;

use super::ast::{CompareOp, Expr, Literal, TextOp};

/// A value during evaluation. Strings borrow from the expression or from the message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Value<'a> {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(&'a str),
}

/// Java threw while evaluating (a failed number conversion, a `ClassCastException`). RocketMQ's
/// broker catches it, logs it and treats the message as not matching, so it ends evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Abort;

impl Literal {
    pub(super) fn value(&self) -> Value<'_> {
        match self {
            Literal::Null => Value::Null,
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Int(i) => Value::Int(*i),
            Literal::Long(l) => Value::Long(*l),
            Literal::Double(d) => Value::Double(*d),
            Literal::Str(s) => Value::Str(s),
        }
    }
}

impl CompareOp {
    /// `ComparisonExpression.asBoolean` for each operator.
    fn accepts(self, ordering: Ordering) -> bool {
        match self {
            CompareOp::Gt => ordering == Ordering::Greater,
            CompareOp::Ge => ordering != Ordering::Less,
            CompareOp::Lt => ordering == Ordering::Less,
            CompareOp::Le => ordering != Ordering::Greater,
        }
    }
}

impl TextOp {
    fn test(self, value: &str, pattern: &str) -> bool {
        match self {
            TextOp::Contains => value.contains(pattern),
            TextOp::StartsWith => value.starts_with(pattern),
            TextOp::EndsWith => value.ends_with(pattern),
        }
    }
}

impl Expr {
    /// `Expression.evaluate`. Recursion depth is bounded by the parser's nesting limit.
    pub(super) fn eval<'a, 'v: 'a>(
        &'a self,
        lookup: &dyn Fn(&str) -> Option<&'v str>,
    ) -> Result<Value<'a>, Abort> {
        Ok(match self {
            Expr::Literal(literal) => literal.value(),
            Expr::Property(name) => lookup(name).map_or(Value::Null, Value::Str),
            Expr::Negate(operand) => match operand.eval(lookup)? {
                Value::Int(i) => Value::Int(i.wrapping_neg()),
                Value::Long(l) => Value::Long(l.wrapping_neg()),
                Value::Double(d) => Value::Double(-d),
                _ => Value::Null,
            },
            Expr::BooleanCast(operand) => match operand.eval(lookup)? {
                Value::Null => Value::Null,
                Value::Bool(b) => Value::Bool(b),
                _ => Value::Bool(false),
            },
            Expr::Not(operand) => match operand.eval(lookup)? {
                Value::Null => Value::Null,
                Value::Bool(b) => Value::Bool(!b),
                _ => return Err(Abort),
            },
            // A flattened chain evaluates exactly like Java's left-deep binary tree: left to
            // right, stopping at the first deciding operand; NULL if any operand was NULL.
            Expr::And(operands) => logic_chain(operands, lookup, false)?,
            Expr::Or(operands) => logic_chain(operands, lookup, true)?,
            Expr::Equal(left, right) => {
                let lv = left.eval(lookup)?;
                let rv = right.eval(lookup)?;
                match (lv, rv) {
                    (Value::Null, Value::Null) => Value::Bool(true),
                    (Value::Null, _) => Value::Null,
                    (_, Value::Null) => Value::Bool(false),
                    _ if java_equals(lv, rv) => Value::Bool(true),
                    _ => Value::Bool(java_compare(lv, rv)? == Ordering::Equal),
                }
            }
            Expr::IsNull(operand) => Value::Bool(operand.eval(lookup)? == Value::Null),
            Expr::Compare { op, left, right } => {
                let lv = left.eval(lookup)?;
                if lv == Value::Null {
                    return Ok(Value::Null);
                }
                let rv = right.eval(lookup)?;
                let ordering = match (lv, rv) {
                    (_, Value::Null) => return Ok(Value::Null),
                    // Comparing two strings by order is only allowed as numbers.
                    (Value::Str(l), Value::Str(r)) => {
                        java_double_compare(java_parse_double(l)?, java_parse_double(r)?)
                    }
                    _ => java_compare(lv, rv)?,
                };
                Value::Bool(op.accepts(ordering))
            }
            Expr::Text {
                op,
                negated,
                operand,
                pattern,
            } => {
                if pattern.is_empty() {
                    return Ok(Value::Bool(false));
                }
                match operand.eval(lookup)? {
                    Value::Str(value) => Value::Bool(op.test(value, pattern) != *negated),
                    _ => Value::Bool(false),
                }
            }
            Expr::In {
                property,
                values,
                negated,
            } => match lookup(property) {
                None => Value::Null,
                Some(value) => {
                    Value::Bool(values.binary_search_by(|v| (**v).cmp(value)).is_ok() != *negated)
                }
            },
        })
    }
}

/// `AND` (`stop_on == false`) or `OR` (`stop_on == true`) over operands in order.
fn logic_chain<'a, 'v: 'a>(
    operands: &'a [Expr],
    lookup: &dyn Fn(&str) -> Option<&'v str>,
    stop_on: bool,
) -> Result<Value<'a>, Abort> {
    let mut saw_null = false;
    for operand in operands {
        match operand.eval(lookup)? {
            Value::Bool(b) if b == stop_on => return Ok(Value::Bool(stop_on)),
            Value::Bool(_) => {}
            Value::Null => saw_null = true,
            // Java casts to Boolean; the parser never lets a non-condition get here.
            _ => return Err(Abort),
        }
    }
    Ok(if saw_null {
        Value::Null
    } else {
        Value::Bool(!stop_on)
    })
}

/// `Object.equals` between two non-null values: same class and same value (`Double.equals`
/// compares bit patterns, so NaN equals NaN and `0.0` differs from `-0.0`).
fn java_equals(left: Value<'_>, right: Value<'_>) -> bool {
    match (left, right) {
        (Value::Double(l), Value::Double(r)) => java_double_bits(l) == java_double_bits(r),
        _ => left == right,
    }
}

/// `ComparisonExpression.__compare` with string conversion on (RocketMQ always enables it):
/// widen numbers, parse a string to the other side's type, otherwise "less".
pub(super) fn java_compare(left: Value<'_>, right: Value<'_>) -> Result<Ordering, Abort> {
    use Value::{Bool, Double, Int, Long, Null, Str};
    Ok(match (left, right) {
        (Null, _) | (_, Null) => return Err(Abort),
        (Bool(l), Bool(r)) => l.cmp(&r),
        (Int(l), Int(r)) => l.cmp(&r),
        (Long(l), Long(r)) => l.cmp(&r),
        (Double(l), Double(r)) => java_double_compare(l, r),
        (Str(l), Str(r)) => l.encode_utf16().cmp(r.encode_utf16()),
        // Java casts the Boolean to String here: ClassCastException.
        (Bool(_), Str(_)) => return Err(Abort),
        (Bool(_), _) => Ordering::Less,
        (Int(l), Long(r)) => i64::from(l).cmp(&r),
        (Int(l), Double(r)) => java_double_compare(f64::from(l), r),
        (Int(l), Str(r)) => l.cmp(&java_parse_int(r)?),
        (Long(l), Int(r)) => l.cmp(&i64::from(r)),
        (Long(l), Double(r)) => java_double_compare(l as f64, r),
        (Long(l), Str(r)) => l.cmp(&java_parse_long(r)?),
        (Double(l), Int(r)) => java_double_compare(l, f64::from(r)),
        (Double(l), Long(r)) => java_double_compare(l, r as f64),
        (Double(l), Str(r)) => java_double_compare(l, java_parse_double(r)?),
        (Int(_) | Long(_) | Double(_), Bool(_)) => Ordering::Less,
        (Str(l), Bool(r)) => java_boolean_value_of(l).cmp(&r),
        (Str(l), Int(r)) => java_parse_int(l)?.cmp(&r),
        (Str(l), Long(r)) => java_parse_long(l)?.cmp(&r),
        (Str(l), Double(r)) => java_double_compare(java_parse_double(l)?, r),
    })
}

/// `Double.doubleToLongBits`: every NaN collapses to the canonical one.
fn java_double_bits(d: f64) -> i64 {
    if d.is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        d.to_bits() as i64
    }
}

/// `Double.compare`: numeric order, then bit order, so `-0.0 < 0.0` and NaN is greatest.
fn java_double_compare(left: f64, right: f64) -> Ordering {
    if left < right {
        Ordering::Less
    } else if left > right {
        Ordering::Greater
    } else {
        java_double_bits(left).cmp(&java_double_bits(right))
    }
}

/// `Boolean.valueOf(String)`.
fn java_boolean_value_of(s: &str) -> bool {
    s.eq_ignore_ascii_case("true")
}

/// `Integer.valueOf(String)`: optional sign, decimal digits, no spaces. Rust's parser has the
/// same grammar for ASCII digits (Java also takes other Unicode digits; see the module docs).
fn java_parse_int(s: &str) -> Result<i32, Abort> {
    s.parse().map_err(|_| Abort)
}

/// `Long.valueOf(String)`.
fn java_parse_long(s: &str) -> Result<i64, Abort> {
    s.parse().map_err(|_| Abort)
}

/// `Double.valueOf(String)` for decimal input: trims characters up to `' '`, takes an optional
/// sign, `NaN`, `Infinity`, or a decimal number with optional exponent and one `f`/`F`/`d`/`D`
/// suffix. Hexadecimal floats are not supported (see the module docs).
pub(super) fn java_parse_double(s: &str) -> Result<f64, Abort> {
    let trimmed = s.trim_matches(|c: char| c <= ' ');
    let unsigned = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    let negative = trimmed.starts_with('-');
    match unsigned {
        "NaN" => return Ok(f64::NAN),
        "Infinity" if negative => return Ok(f64::NEG_INFINITY),
        "Infinity" => return Ok(f64::INFINITY),
        _ => {}
    }
    let number = trimmed
        .strip_suffix(['f', 'F', 'd', 'D'])
        .unwrap_or(trimmed);
    // Rust's float grammar equals Java's decimal grammar except that Rust also takes
    // `inf`/`nan` words; allowing only these characters rules those out.
    if !number
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return Err(Abort);
    }
    number.parse().map_err(|_| Abort)
}
