//! Recursive descent over the grammar of `SelectorParser.jj`, with the checks RocketMQ makes
//! while building expressions (`asBooleanExpression`, `ComparisonExpression.check*`,
//! `createBetween`, `createInFilter`) and Petrel's nesting and `IN` list limits.

use std::cmp::Ordering;

use super::ast::{CompareOp, Expr, Literal, TextOp};
use super::eval::java_compare;
use super::lexer::{Keyword, RawError, Token, TokenKind};
use super::{MAX_IN_LIST_LEN, MAX_NESTING_DEPTH};

/// Parses a token list ending in `Eof` into a condition.
pub(super) fn parse(src: &str, tokens: &[Token]) -> Result<Expr, RawError> {
    let mut parser = Parser {
        src,
        tokens,
        next: 0,
        nesting: 0,
    };
    let node = parser.parse_or()?;
    let token = parser.peek();
    match token.kind {
        TokenKind::Eof => Ok(parser.as_condition(node)?.expr),
        TokenKind::RParen => Err(RawError::new(token.start, "unmatched ')'")),
        _ => Err(parser.expected("an operator or end of expression", token)),
    }
}

/// An expression with its span (bytes, for error messages) and its depth as a tree.
struct Node {
    expr: Expr,
    start: usize,
    end: usize,
    depth: usize,
}

struct Parser<'s, 't> {
    src: &'s str,
    tokens: &'t [Token],
    next: usize,
    /// Open parentheses and prefix operators around the current position.
    nesting: usize,
}

impl<'t> Parser<'_, 't> {
    fn peek(&self) -> &'t Token {
        // The lexer always ends the list with `Eof`, and nothing advances past it.
        &self.tokens[self.next.min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> &'t Token {
        let token = self.peek();
        if token.kind != TokenKind::Eof {
            self.next += 1;
        }
        token
    }

    fn peek_keyword(&self, keyword: Keyword) -> bool {
        self.peek().kind == TokenKind::Keyword(keyword)
    }

    /// Consumes the keyword if it is next.
    fn eat_keyword(&mut self, keyword: Keyword) -> bool {
        let found = self.peek_keyword(keyword);
        if found {
            self.advance();
        }
        found
    }

    fn expect_keyword(&mut self, keyword: Keyword, what: &str) -> Result<(), RawError> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(self.expected(what, self.peek()))
        }
    }

    /// A string literal token, or an error naming what was expected.
    fn expect_string(&mut self, what: &str) -> Result<Box<str>, RawError> {
        let token = self.peek();
        match &token.kind {
            TokenKind::Str(value) => {
                self.advance();
                Ok(value.as_str().into())
            }
            _ => Err(self.expected(what, token)),
        }
    }

    fn expected(&self, what: &str, found: &Token) -> RawError {
        RawError::new(
            found.start,
            format!("expected {what} but found {}", self.describe_token(found)),
        )
    }

    fn describe_token(&self, token: &Token) -> String {
        match token.kind {
            TokenKind::Eof => "end of expression".to_string(),
            _ => self.describe_span(token.start, token.end),
        }
    }

    /// Source text for a message: strings as written, everything else in quotes; long text is
    /// cut short.
    fn describe_span(&self, start: usize, end: usize) -> String {
        const MAX_CHARS: usize = 40;
        let text = &self.src[start..end];
        let mut shown: String = text.chars().take(MAX_CHARS).collect();
        if shown.len() < text.len() {
            shown.push('…');
        }
        if shown.starts_with('\'') {
            format!("string {shown}")
        } else {
            format!("'{shown}'")
        }
    }

    fn describe_node(&self, node: &Node) -> String {
        self.describe_span(node.start, node.end)
    }

    /// Builds a node, refusing trees deeper than the limit; `at` is where to report it.
    fn node(
        &self,
        expr: Expr,
        start: usize,
        end: usize,
        depth: usize,
        at: usize,
    ) -> Result<Node, RawError> {
        if depth > MAX_NESTING_DEPTH {
            return Err(nesting_error(at));
        }
        Ok(Node {
            expr,
            start,
            end,
            depth,
        })
    }

    /// Runs `parse` one nesting level deeper (after `(` or a prefix operator at `at`).
    fn nested(
        &mut self,
        at: usize,
        parse: impl FnOnce(&mut Self) -> Result<Node, RawError>,
    ) -> Result<Node, RawError> {
        if self.nesting >= MAX_NESTING_DEPTH {
            return Err(nesting_error(at));
        }
        self.nesting += 1;
        let result = parse(self);
        self.nesting -= 1;
        result
    }

    /// `asBooleanExpression`: conditions pass, a bare property is cast to a boolean, anything
    /// else is an error.
    fn as_condition(&self, node: Node) -> Result<Node, RawError> {
        if node.expr.is_condition() {
            return Ok(node);
        }
        if matches!(node.expr, Expr::Property(_)) {
            let Node {
                expr,
                start,
                end,
                depth,
            } = node;
            return self.node(
                Expr::BooleanCast(Box::new(expr)),
                start,
                end,
                depth + 1,
                start,
            );
        }
        Err(RawError::new(
            node.start,
            format!(
                "expected a condition but found {}",
                self.describe_node(&node)
            ),
        ))
    }

    /// `or := and (OR and)*` and `and := equality (AND equality)*`, flattened.
    fn logic_chain(
        &mut self,
        keyword: Keyword,
        operand: fn(&mut Self) -> Result<Node, RawError>,
        build: fn(Vec<Expr>) -> Expr,
    ) -> Result<Node, RawError> {
        let first = operand(self)?;
        if !self.peek_keyword(keyword) {
            return Ok(first);
        }
        let first = self.as_condition(first)?;
        let (start, mut end, mut depth) = (first.start, first.end, first.depth);
        let mut operands = vec![first.expr];
        while self.eat_keyword(keyword) {
            let next = operand(self)?;
            let next = self.as_condition(next)?;
            end = next.end;
            depth = depth.max(next.depth);
            operands.push(next.expr);
        }
        self.node(build(operands), start, end, depth + 1, start)
    }

    fn parse_or(&mut self) -> Result<Node, RawError> {
        self.logic_chain(Keyword::Or, Self::parse_and, Expr::Or)
    }

    fn parse_and(&mut self) -> Result<Node, RawError> {
        self.logic_chain(Keyword::And, Self::parse_equality, Expr::And)
    }

    /// `comparison ( '=' comparison | '<>' comparison | IS NULL | IS NOT NULL )*`
    fn parse_equality(&mut self) -> Result<Node, RawError> {
        let mut left = self.parse_comparison()?;
        loop {
            let token = self.peek();
            left = match token.kind {
                TokenKind::Eq | TokenKind::Ne => {
                    self.advance();
                    let not_equal = token.kind == TokenKind::Ne;
                    if token.kind == TokenKind::Eq && self.peek().kind == TokenKind::Eq {
                        return Err(RawError::new(token.start, "'==' is not supported, use '='"));
                    }
                    let right = self.parse_comparison()?;
                    self.check_equal_operands(&left, &right, not_equal)?;
                    let (start, end) = (left.start, right.end);
                    let depth = left.depth.max(right.depth) + 1;
                    let equal = Expr::Equal(Box::new(left.expr), Box::new(right.expr));
                    if not_equal {
                        self.node(
                            Expr::Not(Box::new(equal)),
                            start,
                            end,
                            depth + 1,
                            token.start,
                        )?
                    } else {
                        self.node(equal, start, end, depth, token.start)?
                    }
                }
                TokenKind::Keyword(Keyword::Is) => {
                    self.advance();
                    let negated = self.eat_keyword(Keyword::Not);
                    let null = self.peek();
                    if null.kind != TokenKind::Keyword(Keyword::Null) {
                        let what = if negated {
                            "NULL after IS NOT"
                        } else {
                            "NULL or NOT NULL after IS"
                        };
                        return Err(self.expected(what, null));
                    }
                    self.advance();
                    let is_null = Expr::IsNull(Box::new(left.expr));
                    let (expr, depth) = if negated {
                        (Expr::Not(Box::new(is_null)), left.depth + 2)
                    } else {
                        (is_null, left.depth + 1)
                    };
                    self.node(expr, left.start, null.end, depth, token.start)?
                }
                _ => return Ok(left),
            };
        }
    }

    /// `checkEqualOperand` on both sides and `checkEqualOperandCompatability`.
    fn check_equal_operands(
        &self,
        left: &Node,
        right: &Node,
        not_equal: bool,
    ) -> Result<(), RawError> {
        let (op, instead) = if not_equal {
            ("<>", "IS NOT NULL")
        } else {
            ("=", "IS NULL")
        };
        for operand in [left, right] {
            if operand.expr == Expr::Literal(Literal::Null) {
                return Err(RawError::new(
                    operand.start,
                    format!("NULL cannot be compared with '{op}', use {instead}"),
                ));
            }
        }
        if let (Expr::Literal(Literal::Bool(_)), Expr::Literal(literal)) = (&left.expr, &right.expr)
        {
            if !matches!(literal, Literal::Bool(_)) {
                return Err(RawError::new(
                    left.start,
                    format!(
                        "{} cannot be compared with {}",
                        self.describe_node(left),
                        self.describe_node(right)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `checkLessThanOperand`: only numbers (or things that may evaluate to numbers) can be
    /// ordered; string, boolean and NULL literals and conditions cannot.
    fn check_orderable(&self, operand: &Node, op: &str) -> Result<(), RawError> {
        let orderable = match &operand.expr {
            Expr::Literal(literal) => {
                matches!(
                    literal,
                    Literal::Int(_) | Literal::Long(_) | Literal::Double(_)
                )
            }
            expr => !expr.is_condition(),
        };
        if orderable {
            Ok(())
        } else {
            Err(RawError::new(
                operand.start,
                format!(
                    "{op} needs numbers or properties but found {}",
                    self.describe_node(operand)
                ),
            ))
        }
    }

    /// `unary ( op unary | [NOT] CONTAINS/STARTSWITH/ENDSWITH string | [NOT] BETWEEN … |
    /// [NOT] IN (…) )*`
    fn parse_comparison(&mut self) -> Result<Node, RawError> {
        let mut left = self.parse_unary()?;
        loop {
            let token = self.peek();
            left = match token.kind {
                TokenKind::Gt | TokenKind::Ge | TokenKind::Lt | TokenKind::Le => {
                    self.advance();
                    let (op, symbol) = match token.kind {
                        TokenKind::Gt => (CompareOp::Gt, "'>'"),
                        TokenKind::Ge => (CompareOp::Ge, "'>='"),
                        TokenKind::Lt => (CompareOp::Lt, "'<'"),
                        _ => (CompareOp::Le, "'<='"),
                    };
                    let right = self.parse_unary()?;
                    self.check_orderable(&left, symbol)?;
                    self.check_orderable(&right, symbol)?;
                    let depth = left.depth.max(right.depth) + 1;
                    let expr = Expr::Compare {
                        op,
                        left: Box::new(left.expr),
                        right: Box::new(right.expr),
                    };
                    self.node(expr, left.start, right.end, depth, token.start)?
                }
                TokenKind::Keyword(Keyword::Not) => {
                    self.advance();
                    let operator = self.peek();
                    match operator.kind {
                        TokenKind::Keyword(
                            Keyword::Contains
                            | Keyword::StartsWith
                            | Keyword::EndsWith
                            | Keyword::Between
                            | Keyword::In,
                        ) => self.parse_comparison_tail(left, true)?,
                        _ => {
                            return Err(self.expected(
                                "IN, BETWEEN, CONTAINS, STARTSWITH or ENDSWITH after NOT",
                                operator,
                            ));
                        }
                    }
                }
                TokenKind::Keyword(
                    Keyword::Contains
                    | Keyword::StartsWith
                    | Keyword::EndsWith
                    | Keyword::Between
                    | Keyword::In,
                ) => self.parse_comparison_tail(left, false)?,
                _ => return Ok(left),
            };
        }
    }

    /// The keyword operators of a comparison; the next token is one of them.
    fn parse_comparison_tail(&mut self, left: Node, negated: bool) -> Result<Node, RawError> {
        let operator = self.advance();
        let TokenKind::Keyword(keyword) = operator.kind else {
            return Err(self.expected("a comparison operator", operator));
        };
        let text_op = match keyword {
            Keyword::Contains => TextOp::Contains,
            Keyword::StartsWith => TextOp::StartsWith,
            Keyword::EndsWith => TextOp::EndsWith,
            Keyword::Between => return self.parse_between(left, negated, operator),
            Keyword::In => return self.parse_in(left, negated, operator),
            _ => return Err(self.expected("a comparison operator", operator)),
        };
        let what = format!("a string literal after {}", keyword.name());
        let pattern = self.expect_string(&what)?;
        let end = self.tokens[self.next - 1].end;
        let depth = left.depth + 1;
        let expr = Expr::Text {
            op: text_op,
            negated,
            operand: Box::new(left.expr),
            pattern,
        };
        self.node(expr, left.start, end, depth, operator.start)
    }

    /// `[NOT] BETWEEN low AND high`, built as `left >= low AND left <= high` (or
    /// `left < low OR left > high`) like `ComparisonExpression.createBetween`.
    fn parse_between(
        &mut self,
        left: Node,
        negated: bool,
        operator: &Token,
    ) -> Result<Node, RawError> {
        let low = self.parse_unary()?;
        self.expect_keyword(Keyword::And, "AND between the BETWEEN bounds")?;
        let high = self.parse_unary()?;
        for operand in [&left, &low, &high] {
            self.check_orderable(operand, "BETWEEN")?;
        }
        if !negated {
            if let (Expr::Literal(lo), Expr::Literal(hi)) = (&low.expr, &high.expr) {
                // Both are numbers by now, so the comparison cannot fail.
                if matches!(
                    java_compare(hi.value(), lo.value()),
                    Ok(Ordering::Less) | Err(_)
                ) {
                    return Err(RawError::new(
                        low.start,
                        format!(
                            "BETWEEN lower bound {} is greater than upper bound {}",
                            self.describe_node(&low),
                            self.describe_node(&high)
                        ),
                    ));
                }
            }
        }
        let (low_op, high_op, build): (_, _, fn(Vec<Expr>) -> Expr) = if negated {
            (CompareOp::Lt, CompareOp::Gt, Expr::Or)
        } else {
            (CompareOp::Ge, CompareOp::Le, Expr::And)
        };
        let depth = left.depth.max(low.depth).max(high.depth) + 2;
        let expr = build(vec![
            Expr::Compare {
                op: low_op,
                left: Box::new(left.expr.clone()),
                right: Box::new(low.expr),
            },
            Expr::Compare {
                op: high_op,
                left: Box::new(left.expr),
                right: Box::new(high.expr),
            },
        ]);
        self.node(expr, left.start, high.end, depth, operator.start)
    }

    /// `[NOT] IN ( 'a', 'b', … )`; the left side must be a property (`createInFilter`).
    fn parse_in(&mut self, left: Node, negated: bool, operator: &Token) -> Result<Node, RawError> {
        let Expr::Property(property) = left.expr else {
            return Err(RawError::new(
                left.start,
                format!(
                    "IN needs a property on its left but found {}",
                    self.describe_node(&left)
                ),
            ));
        };
        let open = self.peek();
        if open.kind != TokenKind::LParen {
            return Err(self.expected("'(' after IN", open));
        }
        self.advance();
        let mut values = Vec::new();
        loop {
            let token = self.peek();
            if values.len() == MAX_IN_LIST_LEN {
                return Err(RawError::new(
                    token.start,
                    format!("IN list has more than {MAX_IN_LIST_LEN} values"),
                ));
            }
            values.push(self.expect_string("a string literal in the IN list")?);
            let separator = self.advance();
            match separator.kind {
                TokenKind::Comma => {}
                TokenKind::RParen => break,
                _ => return Err(self.expected("',' or ')' in the IN list", separator)),
            }
        }
        let end = self.tokens[self.next - 1].end;
        values.sort_unstable();
        values.dedup();
        let expr = Expr::In {
            property,
            values,
            negated,
        };
        self.node(expr, left.start, end, left.depth + 1, operator.start)
    }

    /// `'+' unary | '-' unary | NOT unary | primary`
    fn parse_unary(&mut self) -> Result<Node, RawError> {
        let token = self.peek();
        match token.kind {
            TokenKind::Plus => {
                self.advance();
                // Unary plus is the operand itself, as in RocketMQ.
                let operand = self.nested(token.start, Self::parse_unary)?;
                Ok(Node {
                    start: token.start,
                    ..operand
                })
            }
            TokenKind::Minus => {
                self.advance();
                let operand = self.nested(token.start, Self::parse_unary)?;
                let expr = Expr::Negate(Box::new(operand.expr));
                self.node(
                    expr,
                    token.start,
                    operand.end,
                    operand.depth + 1,
                    token.start,
                )
            }
            TokenKind::Keyword(Keyword::Not) => {
                self.advance();
                let operand = self.nested(token.start, Self::parse_unary)?;
                let operand = self.as_condition(operand)?;
                let expr = Expr::Not(Box::new(operand.expr));
                self.node(
                    expr,
                    token.start,
                    operand.end,
                    operand.depth + 1,
                    token.start,
                )
            }
            _ => self.parse_primary(),
        }
    }

    /// A literal, a property, or a parenthesized expression.
    fn parse_primary(&mut self) -> Result<Node, RawError> {
        let token = self.peek();
        let literal = match &token.kind {
            TokenKind::Str(value) => Literal::Str(value.as_str().into()),
            // `ConstantExpression.createFromDecimal`: an `int` when it fits.
            TokenKind::Integer(value) => {
                i32::try_from(*value).map_or(Literal::Long(*value), Literal::Int)
            }
            TokenKind::Decimal(value) => Literal::Double(*value),
            TokenKind::Keyword(Keyword::True) => Literal::Bool(true),
            TokenKind::Keyword(Keyword::False) => Literal::Bool(false),
            TokenKind::Keyword(Keyword::Null) => Literal::Null,
            TokenKind::Ident => {
                self.advance();
                let name = &self.src[token.start..token.end];
                return self.node(
                    Expr::Property(name.into()),
                    token.start,
                    token.end,
                    1,
                    token.start,
                );
            }
            TokenKind::LParen => {
                self.advance();
                let inner = self.nested(token.start, Self::parse_or)?;
                let close = self.peek();
                return match close.kind {
                    TokenKind::RParen => {
                        self.advance();
                        // Parentheses only group: the node is the inner expression.
                        Ok(Node {
                            start: token.start,
                            end: close.end,
                            ..inner
                        })
                    }
                    TokenKind::Eof => Err(RawError::new(token.start, "unclosed '('")),
                    _ => Err(self.expected("')'", close)),
                };
            }
            _ => return Err(self.expected("a property, a literal or '('", token)),
        };
        self.advance();
        self.node(
            Expr::Literal(literal),
            token.start,
            token.end,
            1,
            token.start,
        )
    }
}

fn nesting_error(at: usize) -> RawError {
    RawError::new(
        at,
        format!("expression is nested more than {MAX_NESTING_DEPTH} levels deep"),
    )
}
