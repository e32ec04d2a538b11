//! RocketMQ's SQL92 message filter: a pure parser and evaluator (no I/O, std only).
//!
//! A consumer that subscribes with expression type `SQL92` sends an expression such as
//! `region = 'eu' AND price > 100` and receives only the messages whose properties satisfy it.
//! This module parses the expression once ([`Sql92Filter::parse`]) and evaluates it against one
//! message's properties at a time ([`Sql92Filter::matches`]). Wiring it into
//! `SubscriptionFilter` and decoding the properties from a record is the caller's business.
//!
//! # Where the rules come from
//!
//! Apache RocketMQ 5.x, module `filter` (checked against the source at commit `8fc57f14`,
//! September 2025), paths under `filter/src/main/java/org/apache/rocketmq/filter/`:
//! `parser/SelectorParser.jj` (tokens and grammar; the generated `SelectorParser.java` agrees),
//! `expression/ComparisonExpression.java` (comparisons, type conversions, parse-time operand
//! checks, `BETWEEN`, `IN`, `CONTAINS`/`STARTSWITH`/`ENDSWITH`), `LogicExpression.java`
//! (`AND`/`OR`), `UnaryExpression.java` (`NOT`, unary minus, `IN` evaluation, the boolean cast
//! of a bare property), `ConstantExpression.java` (literals), and the broker's
//! `ExpressionMessageFilter.isMatchedByCommitLog` (a message matches only if evaluation returns
//! `Boolean.TRUE`; `null`, a non-boolean or an exception all mean "no match"). RocketMQ took
//! the grammar from ActiveMQ's JMS selectors and removed `LIKE`, arithmetic and hex/octal.
//! RocketMQ's own tests (`filter/src/test/.../ExpressionTest.java`, `ParserTest.java`) are
//! mirrored in this module's tests.
//!
//! # Tokens
//!
//! - Whitespace: space, tab, `\n`, `\r`, form feed. Comments: `-- …` to the end of the line,
//!   `/* … */` (not nested).
//! - Keywords, case-insensitive: `NOT AND OR BETWEEN IN TRUE FALSE NULL IS CONTAINS STARTSWITH
//!   ENDSWITH`.
//! - Identifiers (property names, case-sensitive): `[A-Za-z_$][A-Za-z0-9_$]*` and not a keyword.
//!   No dots, no non-ASCII letters: RocketMQ's grammar has neither.
//! - Strings: `'…'`, with `''` standing for one quote; they may span lines.
//! - Integers: `0` or `[1-9][0-9]*`, optionally suffixed `L`/`l`, within `i64` (Java `long`).
//!   A value that fits in `i32` is an `int`, otherwise a `long`; the difference matters when a
//!   property is converted for a comparison (see below).
//! - Decimals (Java `double`): `1.5`, `1.`, `.5`, `1.5E10`, `1E-3` (exponent `E`/`e`).
//! - Operators: `=  <>  >  >=  <  <=  (  )  ,  +  -`. There is no `!=`, `==`, `&&`, `||` or
//!   double-quoted string; the errors for these say what to write instead.
//!
//! # Grammar (lowest precedence first, exactly as `SelectorParser.jj`)
//!
//! ```text
//! selector   := or EOF
//! or         := and ( OR and )*
//! and        := equality ( AND equality )*
//! equality   := comparison ( '=' comparison | '<>' comparison | IS NULL | IS NOT NULL )*
//! comparison := unary ( ( '>' | '>=' | '<' | '<=' ) unary
//!                     | [NOT] ( CONTAINS | STARTSWITH | ENDSWITH ) string
//!                     | [NOT] BETWEEN unary AND unary
//!                     | [NOT] IN '(' string ( ',' string )* ')' )*
//! unary      := '+' unary | '-' unary | NOT unary | primary
//! primary    := string | integer | decimal | TRUE | FALSE | NULL | identifier | '(' or ')'
//! ```
//!
//! **`NOT` binds tighter than any comparison**, as in ActiveMQ: `NOT a = 'x'` means
//! `(NOT a) = 'x'`, which never matches a message (see `NOT` below). Write `NOT (a = 'x')` or
//! `a <> 'x'`.
//!
//! Checks RocketMQ makes while building the expression, reported here as parse errors:
//! the whole expression and each operand of `AND`/`OR`/`NOT` must be a condition (a bare
//! property counts: it is cast to a boolean); `NULL` cannot be an operand of `=`/`<>`;
//! `TRUE = 1` (a boolean literal compared with another kind of literal) is refused; operands
//! of `>`, `>=`, `<`, `<=` and `BETWEEN` must be numbers, properties or other non-conditions
//! (not strings, booleans or `NULL` literals, not conditions); `x BETWEEN lo AND hi` with two
//! literal bounds needs `lo <= hi`; the left side of `IN` must be a property; `IN` lists hold
//! string literals only.
//!
//! # Evaluation (RocketMQ's three-valued logic)
//!
//! Every property value is a string; a missing property is `NULL`. An expression evaluates to
//! TRUE, FALSE, NULL, or *aborts* (Java throws; the broker logs it and the message does not
//! match, whatever the rest of the expression says). A message matches only on TRUE.
//!
//! - `AND`/`OR`: left to right with short circuit (`FALSE AND …`, `TRUE OR …` stop), SQL's
//!   three-valued truth tables otherwise; an abort in an operand that is reached aborts all.
//! - `NOT`: TRUE ↔ FALSE, NULL stays NULL. A bare property used as a condition is NULL when
//!   missing and FALSE when present (its value is a string, never a boolean), so `NOT a` matches
//!   exactly the messages that *have* `a`.
//! - `x = y`: if only `x` is NULL → NULL; if only `y` is NULL → FALSE (asymmetry copied from
//!   Java); both NULL → TRUE; otherwise compared after conversion (below). `x <> y` is
//!   `NOT (x = y)`, so it is NULL, not TRUE, when `x` is missing.
//! - `x IS NULL` / `x IS NOT NULL`: TRUE/FALSE, never NULL.
//! - `>`, `>=`, `<`, `<=`: NULL if either side is NULL. Two strings (two properties) are both
//!   parsed as `double`, and abort if either is not a number. Otherwise compared after
//!   conversion.
//! - `x BETWEEN lo AND hi` is `x >= lo AND x <= hi`; `x NOT BETWEEN lo AND hi` is
//!   `x < lo OR x > hi`.
//! - `p IN ('a', 'b')`: string equality; NULL if `p` is missing (so `NOT IN` does not match a
//!   message without `p`).
//! - `x CONTAINS 's'` (`STARTSWITH`, `ENDSWITH`, and their `NOT` forms): FALSE when `'s'` is
//!   empty, when `x` is NULL, or when `x` is not a string; never NULL. So
//!   `p NOT CONTAINS 'x'` is FALSE but `NOT (p CONTAINS 'x')` is TRUE for a missing `p`.
//! - Unary minus negates a number and gives NULL for anything else (a property included).
//!
//! Conversion when the two sides of a comparison have different types (Java's
//! `ComparisonExpression.__compare`): a string meeting an `int` literal is parsed with
//! `Integer.valueOf`, a `long` with `Long.valueOf`, a `double` with `Double.valueOf`, a boolean
//! with `Boolean.valueOf` (`"true"` in any case is true, anything else false). A failed parse
//! **aborts**. Consequences worth knowing:
//! - `a = 5` aborts (no match, even inside `OR`) when `a` is `"abc"`, and `a <> 5` does too.
//! - `a > 5` aborts for `a = "5.5"` (not an `int`) and for `a = "3000000000"` (too big for an
//!   `int`); write `a > 5.0` to compare decimal values.
//! - `Double.valueOf` trims ASCII control characters and spaces, accepts `NaN`, `Infinity`, a
//!   sign and an `f`/`d` suffix; `Integer.valueOf` accepts a sign but no spaces.
//! - `int`, `long` and `double` are widened to the wider type; a boolean compared with a number
//!   is unequal (and "less"); a boolean on the left of a string aborts (a Java
//!   `ClassCastException`).
//! - Doubles compare like Java's `Double.compare`: `-0.0 < 0.0`, `NaN` equals itself and is
//!   greater than everything.
//!
//! # Deliberate differences from RocketMQ
//!
//! - Tokens after a complete expression are an error here; RocketMQ's parser stops after the
//!   expression and ignores them (`a = 1 b = 2` is silently `a = 1` there).
//! - `--` starts a comment even on the last line; RocketMQ only skips a `--` comment that ends
//!   with a newline (and reads `--1` at the very end as `- -1`).
//! - `012` is an error here; RocketMQ reads `0` and ignores the rest. `0L` is accepted as `0`.
//! - Decimal literals equal to zero (`0.0`, `0E5`, `1E-400`) are accepted; RocketMQ refuses
//!   every double literal below `Double.MIN_VALUE`, zero included (an upper/lower bound bug).
//! - Converting a property for a comparison accepts ASCII digits only; Java's
//!   `Integer.valueOf`/`Long.valueOf` also accept other Unicode decimal digits (`"１２"`), and
//!   `Double.valueOf` accepts hexadecimal floats (`"0x1p3"`). Such values abort here.
//! - Limits (RocketMQ has none): [`MAX_EXPRESSION_LEN_BYTES`], [`MAX_NESTING_DEPTH`],
//!   [`MAX_IN_LIST_LEN`]. They keep parsing and per-message evaluation bounded in time and
//!   stack.
//!
//! # Errors
//!
//! [`Sql92Error`] carries a 0-based *character* position in the expression and a message that
//! says what was expected and what was found: `a = 1 AND AND b = 2` gives
//! `expected a property, a literal or '(' but found 'AND' at position 10`, `a = 'abc` gives
//! `unterminated string literal starting at position 4`. The broker returns it to the client as
//! the remark of `SUBSCRIPTION_PARSE_FAILED`.
//!
//! # How this was checked
//!
//! Besides the tests here, the module was run side by side with RocketMQ's own classes (the
//! Java sources above compiled as they are, Guava's cache stubbed out) on about 800,000
//! generated expressions with random property values: every expression both sides accept gives
//! the same match result, and every expression only one side accepts falls under the
//! differences listed above.

mod ast;
mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

/// Longest expression accepted, in bytes of UTF-8: room for an `IN` list of
/// [`MAX_IN_LIST_LEN`] short ids, small enough to keep per-message evaluation cheap.
pub const MAX_EXPRESSION_LEN_BYTES: usize = 16 * 1024;
/// Deepest nesting accepted: parentheses, prefix operators (`NOT`, `-`, `+`) and chained
/// comparisons (`a = b = c`) each add a level. Bounds parser and evaluator recursion.
pub const MAX_NESTING_DEPTH: usize = 64;
/// Most string literals in one `IN (...)` list.
pub const MAX_IN_LIST_LEN: usize = 1_000;

/// A parsed SQL92 subscription expression, ready to be evaluated against messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql92Filter {
    expression: String,
    root: ast::Expr,
}

// `PartialEq` is derived over an AST holding `f64` literals; literals are never NaN (the lexer
// only produces finite values), so equality is reflexive.
impl Eq for Sql92Filter {}

/// Why an expression was refused. `position` is a 0-based character index into the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct Sql92Error {
    pub position: usize,
    pub message: String,
}

impl Sql92Filter {
    /// Parses `expression` with RocketMQ's grammar and parse-time checks (see the module docs).
    pub fn parse(expression: &str) -> Result<Self, Sql92Error> {
        let to_error = |e: lexer::RawError| Sql92Error {
            position: char_position(expression, e.byte_pos),
            message: e.message,
        };
        if expression.len() > MAX_EXPRESSION_LEN_BYTES {
            return Err(to_error(lexer::RawError {
                byte_pos: MAX_EXPRESSION_LEN_BYTES,
                message: format!(
                    "expression is {} bytes long, more than the limit of {MAX_EXPRESSION_LEN_BYTES}",
                    expression.len()
                ),
            }));
        }
        let tokens = lexer::tokenize(expression).map_err(to_error)?;
        let root = parser::parse(expression, &tokens).map_err(to_error)?;
        Ok(Self {
            expression: expression.to_string(),
            root,
        })
    }

    /// Whether a message with these properties matches: `lookup` returns a property's value by
    /// name (`TAGS`, `KEYS` and the other system properties included), `None` if absent.
    /// True only when the expression evaluates to TRUE, as in RocketMQ's broker.
    pub fn matches<'v>(&self, lookup: &dyn Fn(&str) -> Option<&'v str>) -> bool {
        matches!(self.root.eval(lookup), Ok(eval::Value::Bool(true)))
    }

    /// The expression as the client sent it.
    pub fn expression(&self) -> &str {
        &self.expression
    }
}

/// Converts a byte offset into a character index (offsets past the end clamp to the end; an
/// offset inside a character counts that character).
fn char_position(text: &str, byte_pos: usize) -> usize {
    let mut end = byte_pos.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].chars().count()
}
