//! The parsed expression. Each variant corresponds to one of RocketMQ's expression classes;
//! syntax that RocketMQ desugars (`<>`, `IS NOT NULL`, `BETWEEN`, unary `+`, parentheses) is
//! desugared the same way, so evaluation follows the same paths.

/// A literal (`ConstantExpression` / `BooleanConstantExpression`).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Literal {
    Null,
    Bool(bool),
    /// An integer literal that fits Java's `int`.
    Int(i32),
    /// An integer literal that needs Java's `long`.
    Long(i64),
    /// Never NaN or infinite.
    Double(f64),
    Str(Box<str>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CompareOp {
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    Literal(Literal),
    /// A message property, looked up by its exact name.
    Property(Box<str>),
    /// Unary minus.
    Negate(Box<Expr>),
    /// A bare property used as a condition (`UnaryExpression.createBooleanCast`).
    BooleanCast(Box<Expr>),
    Not(Box<Expr>),
    /// Left-to-right `AND` chain, flattened (`a AND b AND c`); at least two operands.
    And(Vec<Expr>),
    /// Left-to-right `OR` chain, flattened; at least two operands.
    Or(Vec<Expr>),
    Equal(Box<Expr>, Box<Expr>),
    IsNull(Box<Expr>),
    Compare {
        op: CompareOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `CONTAINS`, `STARTSWITH`, `ENDSWITH` and their `NOT` forms.
    Text {
        op: TextOp,
        negated: bool,
        operand: Box<Expr>,
        pattern: Box<str>,
    },
    /// `IN` / `NOT IN`; `values` sorted and deduplicated (at least one).
    In {
        property: Box<str>,
        values: Vec<Box<str>>,
        negated: bool,
    },
}

impl Expr {
    /// Whether RocketMQ builds this as a `BooleanExpression` (a condition). Boolean literals and
    /// `NULL` are (`BooleanConstantExpression`); other literals, properties and negations are not.
    pub(super) fn is_condition(&self) -> bool {
        match self {
            Expr::Literal(literal) => matches!(literal, Literal::Null | Literal::Bool(_)),
            Expr::Property(_) | Expr::Negate(_) => false,
            Expr::BooleanCast(_)
            | Expr::Not(_)
            | Expr::And(_)
            | Expr::Or(_)
            | Expr::Equal(..)
            | Expr::IsNull(_)
            | Expr::Compare { .. }
            | Expr::Text { .. }
            | Expr::In { .. } => true,
        }
    }
}
