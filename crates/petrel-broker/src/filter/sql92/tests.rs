//! Expected results are RocketMQ's (worked out from the Java sources named in the module docs;
//! the cases marked "RocketMQ test" repeat `ExpressionTest`/`ParserTest`).

use proptest::prelude::*;

use super::*;

fn matches(expression: &str, properties: &[(&str, &str)]) -> bool {
    let filter = Sql92Filter::parse(expression)
        .unwrap_or_else(|e| panic!("{expression:?} should parse: {e}"));
    filter.matches(&|name| {
        properties
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
    })
}

fn parse_error(expression: &str) -> Sql92Error {
    match Sql92Filter::parse(expression) {
        Ok(filter) => panic!("{expression:?} should not parse, got {filter:?}"),
        Err(e) => e,
    }
}

type Case = (&'static str, &'static [(&'static str, &'static str)], bool);

fn check_table(cases: &[Case]) {
    let mut failures = Vec::new();
    for &(expression, properties, expected) in cases {
        let actual = matches(expression, properties);
        if actual != expected {
            failures.push(format!(
                "{expression:?} with {properties:?}: expected {expected}, got {actual}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn string_equality_and_escapes() {
    check_table(&[
        ("a = 'x'", &[("a", "x")], true),
        ("a = 'x'", &[("a", "y")], false),
        ("a = 'x'", &[], false),
        ("a <> 'x'", &[("a", "y")], true),
        ("a <> 'x'", &[("a", "x")], false),
        // `<>` is NOT(=): NULL for a missing property, so no match.
        ("a <> 'x'", &[], false),
        ("a = 'it''s'", &[("a", "it's")], true),
        ("a = ''''", &[("a", "'")], true),
        ("a = ''", &[("a", "")], true),
        ("a = ''", &[], false),
        ("a = 'héllo wörld ✓'", &[("a", "héllo wörld ✓")], true),
        ("a = 'line\nbreak'", &[("a", "line\nbreak")], true),
        // RocketMQ test: stringHasString.
        (
            "TAGS is not null and TAGS='''''tag'''''",
            &[("TAGS", "''tag''")],
            true,
        ),
        ("TAGS = 'TagA'", &[("TAGS", "TagA")], true),
        // Property names are case-sensitive, keywords are not.
        ("A = 'x'", &[("a", "x")], false),
        ("$a_1 = 'x'", &[("$a_1", "x")], true),
        ("_x = 'y'", &[("_x", "y")], true),
        ("a = b", &[("a", "3.14"), ("b", "3.14")], true),
        ("a <> b", &[("a", "3.14"), ("b", "3.141")], true),
        ("a <> b", &[("a", "3.14"), ("b", "3.14")], false),
    ]);
}

#[test]
fn null_on_either_side_of_equality_is_asymmetric_like_java() {
    check_table(&[
        // Missing on the left: NULL, and NOT NULL is still NULL.
        ("NOT (a = 'x')", &[], false),
        // Missing on the right: FALSE, so NOT makes it TRUE.
        ("'x' = a", &[], false),
        ("NOT ('x' = a)", &[], true),
        ("a = b", &[], true),
        ("a = b", &[("a", "1")], false),
        ("NOT (a = b)", &[("a", "1")], true),
        ("NOT (a = b)", &[("b", "1")], false),
    ]);
}

#[test]
fn integer_literals_convert_the_property_with_integer_value_of() {
    check_table(&[
        ("a = 5", &[("a", "5")], true),
        ("a = 5", &[("a", "05")], true),
        ("a = 5", &[("a", "+5")], true),
        ("a = 5", &[("a", "6")], false),
        ("5 = a", &[("a", "5")], true),
        ("a = 5L", &[("a", "5")], true),
        ("a = 5l", &[("a", "5")], true),
        ("a = 0L", &[("a", "0")], true),
        ("a <> 5", &[("a", "6")], true),
        // Not an int: Java throws, the broker reports no match, even for `<>` ...
        ("a = 5", &[("a", "abc")], false),
        ("a <> 5", &[("a", "abc")], false),
        ("a = 5", &[("a", "5.0")], false),
        ("a = 5", &[("a", " 5")], false),
        // ... and even when the other side of an OR would match.
        ("a = 5 OR b = 'x'", &[("a", "abc"), ("b", "x")], false),
        // Short circuit: the failing comparison is never reached.
        ("b = 'x' OR a = 5", &[("a", "abc"), ("b", "x")], true),
        ("a > 5", &[("a", "6")], true),
        ("a > 5", &[("a", "5")], false),
        ("a >= 5", &[("a", "5")], true),
        ("a >= 5", &[("a", "4")], false),
        ("a < 5", &[("a", "4")], true),
        ("a < 5", &[("a", "5")], false),
        ("a <= 5", &[("a", "5")], true),
        ("a <= 5", &[("a", "6")], false),
        ("a > 5", &[], false),
        ("NOT (a > 5)", &[], false),
        // An int literal parses the property as an int: decimals and big values fail.
        ("a > 5", &[("a", "5.5")], false),
        ("NOT (a > 5)", &[("a", "5.5")], false),
        ("a > 5", &[("a", "3000000000")], false),
        // A long literal parses it as a long.
        ("a > 3000000000", &[("a", "3000000001")], true),
        ("a > 3000000000", &[("a", "5")], false),
        (
            "a = 9223372036854775807",
            &[("a", "9223372036854775807")],
            true,
        ),
        // BETWEEN 1 AND 3000000000 parses as int for the low bound, so big values fail.
        ("a BETWEEN 1 AND 3000000000", &[("a", "5")], true),
        ("a BETWEEN 1 AND 3000000000", &[("a", "4000000000")], false),
    ]);
}

#[test]
fn decimal_literals_convert_the_property_with_double_value_of() {
    check_table(&[
        // RocketMQ tests: floatNumber, exponent.
        ("a > 3.14", &[("a", "3.1415")], true),
        ("a > 3.1E10", &[("a", "3.1415E10")], true),
        ("a > 5.0", &[("a", "5.5")], true),
        ("a > 5.0", &[("a", "5")], false),
        ("a = 1.5", &[("a", "1.50")], true),
        ("a = 1.5", &[("a", " 1.5 ")], true),
        ("a = 1.5", &[("a", "1.5f")], true),
        ("a = 1.5", &[("a", "+1.5D")], true),
        ("a = 1.5", &[("a", "15e-1")], true),
        ("a = 1.5", &[("a", "1.5x")], false),
        ("a = 1.5 OR b = 'x'", &[("a", "1.5x"), ("b", "x")], false),
        ("a = .5", &[("a", "0.5")], true),
        ("a = 5.", &[("a", "5")], true),
        ("a = 1E3", &[("a", "1000")], true),
        ("a = 2.5e-1", &[("a", ".25")], true),
        // NaN is greater than everything and equal to itself; -0.0 is below 0.0.
        ("a > 1.5", &[("a", "NaN")], true),
        ("a < 1.5", &[("a", "NaN")], false),
        ("a > 1.5", &[("a", "Infinity")], true),
        ("a < 1.5", &[("a", "-Infinity")], true),
        ("a > 1.5", &[("a", "inf")], false),
        ("a = 0.0", &[("a", "-0.0")], false),
        ("a >= 0.0", &[("a", "-0")], false),
        ("a >= 0", &[("a", "-0")], true),
        // int/long/double literals are widened against each other.
        ("1 = 1.0", &[], true),
        ("3000000000 > 2.5", &[], true),
        ("1 < 3000000000", &[], true),
        // Two strings are ordered as doubles; a non-number fails.
        ("a > b", &[("a", "20"), ("b", "10")], true),
        ("a > b", &[("a", "10"), ("b", "20")], false),
        ("a > b", &[("a", "10.5"), ("b", "10.25")], true),
        ("a > b", &[("a", "x"), ("b", "1")], false),
        ("a > b", &[("a", "1")], false),
    ]);
}

#[test]
fn negative_numbers_and_unary_operators() {
    check_table(&[
        ("a = -5", &[("a", "-5")], true),
        ("a > -5", &[("a", "-4")], true),
        ("a < -1.5", &[("a", "-2")], true),
        ("a = - -5", &[("a", "5")], true),
        ("a = +5", &[("a", "5")], true),
        ("a = -(5)", &[("a", "-5")], true),
        ("a = -2147483648", &[("a", "-2147483648")], true),
        (
            "a = -9223372036854775807",
            &[("a", "-9223372036854775807")],
            true,
        ),
        // Negating a property (a string) gives NULL.
        ("-a = 5", &[("a", "-5")], false),
        ("a = -a", &[("a", "5")], false),
        ("-a IS NULL", &[("a", "5")], true),
        ("a BETWEEN -5 AND -1", &[("a", "-3")], true),
        ("a BETWEEN -5 AND -1", &[("a", "0")], false),
        // Bounds that are not plain literals are not checked for order.
        ("a BETWEEN -1 AND -5", &[("a", "-3")], false),
    ]);
}

#[test]
fn booleans_and_bare_properties() {
    check_table(&[
        // RocketMQ test: boolean.
        ("a=TRUE OR b=FALSE", &[("a", "true"), ("b", "false")], true),
        ("a=TRUE OR b=FALSE", &[("a", "false"), ("b", "true")], false),
        ("a = TRUE", &[("a", "TRUE")], true),
        ("a = TRUE", &[("a", "yes")], false),
        ("a = FALSE", &[("a", "yes")], true),
        ("a = TRUE OR b = 'x'", &[("a", "yes"), ("b", "x")], true),
        // A boolean literal on the left of a string throws in Java.
        ("TRUE = a", &[("a", "true")], false),
        ("TRUE = a OR b = 'x'", &[("a", "true"), ("b", "x")], false),
        ("TRUE", &[], true),
        ("FALSE", &[], false),
        ("NULL", &[], false),
        ("NOT NULL", &[], false),
        ("NOT FALSE", &[], true),
        ("TRUE = TRUE", &[], true),
        ("1 = TRUE", &[], false),
        ("NOT (1 = TRUE)", &[], true),
        // A bare property is a condition: NULL when missing, FALSE when present.
        ("a", &[("a", "true")], false),
        ("NOT a", &[("a", "x")], true),
        ("NOT a", &[], false),
        ("a OR b = 'x'", &[("b", "x")], true),
        ("NOT a AND b = 'x'", &[("a", "1"), ("b", "x")], true),
    ]);
}

#[test]
fn not_binds_tighter_than_comparisons_like_rocketmq() {
    check_table(&[
        // `NOT a = 'x'` is `(NOT a) = 'x'`: a boolean against a string, which never matches.
        ("NOT a = 'x'", &[("a", "y")], false),
        ("NOT a = 'x'", &[("a", "x")], false),
        ("NOT a = 'x'", &[], false),
        // It really is `(NOT a) = TRUE` here: present `a` → NOT FALSE → TRUE.
        ("NOT a = TRUE", &[("a", "x")], true),
        ("NOT (a = 'x')", &[("a", "y")], true),
    ]);
}

#[test]
fn three_valued_logic() {
    check_table(&[
        ("a IS NULL", &[], true),
        ("a IS NULL", &[("a", "x")], false),
        ("a IS NULL", &[("a", "")], false),
        ("a IS NOT NULL", &[("a", "x")], true),
        ("a IS NOT NULL", &[], false),
        ("NOT (a IS NULL)", &[("a", "x")], true),
        // RocketMQ tests: nullOr, equal.
        ("a is null OR a='hello'", &[], true),
        ("a is null OR a='hello'", &[("a", "hello")], true),
        ("a is null OR a='hello'", &[("a", "abc")], false),
        ("a is not null and a='hello'", &[("a", "hello")], true),
        ("a is not null and a='hello'", &[], false),
        // NULL OR TRUE = TRUE; NULL AND TRUE = NULL; NULL AND FALSE = FALSE.
        ("a = 'x' OR b = 'y'", &[("b", "y")], true),
        ("a = 'x' AND b = 'y'", &[("b", "y")], false),
        ("NOT (a = 'x' AND b = 'y')", &[("b", "y")], false),
        ("NOT (a = 'x' AND b = 'y')", &[("b", "z")], true),
        ("NOT (a = 'x' OR b = 'y')", &[("b", "z")], false),
        ("NOT (a = 'x' OR b = 'y')", &[("a", "z"), ("b", "z")], true),
        ("a IS NULL = TRUE", &[], true),
        ("(a = 1) IS NULL", &[], true),
    ]);
}

#[test]
fn in_and_not_in() {
    check_table(&[
        // RocketMQ tests: inTrue/inFalse/notInTrue/notInFalse.
        ("a in ('3', '4', '5')", &[("a", "3")], true),
        ("a in ('3', '4', '5')", &[("a", "5")], true),
        ("a in ('3', '4', '5')", &[("a", "8")], false),
        ("a not in ('3', '4', '5')", &[("a", "8")], true),
        ("a not in ('3', '4', '5')", &[("a", "4")], false),
        ("a in ('3')", &[], false),
        ("a not in ('3')", &[], false),
        ("NOT (a IN ('3'))", &[], false),
        ("a IN ('x', 'x', 'y')", &[("a", "y")], true),
        (
            "a IN ('a', 'b', 'c', 'd', 'e', 'f', 'g')",
            &[("a", "g")],
            true,
        ),
        (
            "a IN ('a', 'b', 'c', 'd', 'e', 'f', 'g')",
            &[("a", "h")],
            false,
        ),
        ("a IN ('it''s')", &[("a", "it's")], true),
        ("a IN ('')", &[("a", "")], true),
        // IN compares strings, never numbers.
        ("a IN ('5')", &[("a", "5.0")], false),
        ("(a) IN ('x')", &[("a", "x")], true),
        ("+a IN ('x')", &[("a", "x")], true),
        // RocketMQ test: notInExpression in ParserTest.
        (
            "(a not in ('6', '4', '5')) or (b in ('3', '4', '5'))",
            &[("a", "6"), ("b", "3")],
            true,
        ),
    ]);
}

#[test]
fn between_and_not_between() {
    check_table(&[
        // RocketMQ tests: betweenTrue/False, notBetweenTrue/False.
        ("a between 2 and 10", &[("a", "2")], true),
        ("a between 2 and 10", &[("a", "10")], true),
        ("a between 2 and 10", &[("a", "3")], true),
        ("a between 2 and 10", &[("a", "1")], false),
        ("a between 2 and 10", &[("a", "11")], false),
        ("a between 2 and 10", &[], false),
        ("a not between 2 and 10", &[("a", "1")], true),
        ("a not between 2 and 10", &[("a", "11")], true),
        ("a not between 2 and 10", &[("a", "2")], false),
        ("a not between 2 and 10", &[("a", "10")], false),
        ("a not between 2 and 10", &[], false),
        // RocketMQ test: stringCompare.
        ("a between 0 and 100", &[("a", "abc")], false),
        (
            "key is not null and key between 0 and 100",
            &[("key", "con")],
            false,
        ),
        ("a between up and low", &[("a", "3.14")], false),
        ("a BETWEEN 1.5 AND 2.5", &[("a", "2")], true),
        ("a BETWEEN 2 AND 2", &[("a", "2")], true),
        (
            "a BETWEEN b AND c",
            &[("a", "5"), ("b", "1"), ("c", "9")],
            true,
        ),
        (
            "a BETWEEN b AND c",
            &[("a", "5"), ("b", "6"), ("c", "9")],
            false,
        ),
        // Parsed as (a BETWEEN 1 AND 5) AND b = 'x'.
        (
            "a BETWEEN 1 AND 5 AND b = 'x'",
            &[("a", "3"), ("b", "x")],
            true,
        ),
        (
            "a BETWEEN 1 AND 5 AND b = 'x'",
            &[("a", "3"), ("b", "y")],
            false,
        ),
    ]);
}

#[test]
fn contains_startswith_endswith() {
    let axb: &[(&str, &str)] = &[("value", "axb")];
    let abb: &[(&str, &str)] = &[("value", "abb")];
    let number: &[(&str, &str)] = &[("value", "123")];
    check_table(&[
        // RocketMQ tests: ExpressionTest's contains/startswith/endswith cases.
        ("value contains 'x'", axb, true),
        ("value startswith 'ax'", axb, true),
        ("value endswith 'xb'", axb, true),
        ("value not contains 'x'", axb, false),
        ("value not startswith 'ax'", axb, false),
        ("value not endswith 'xb'", axb, false),
        ("value contains 'x'", abb, false),
        ("value startswith 'x'", abb, false),
        ("value endswith 'x'", abb, false),
        ("value not contains 'x'", abb, true),
        ("value not startswith 'x'", abb, true),
        ("value not endswith 'x'", abb, true),
        ("value contains ''", axb, false),
        ("value startswith ''", axb, false),
        ("value endswith ''", axb, false),
        ("value not contains ''", axb, false),
        ("value not startswith ''", axb, false),
        ("value not endswith ''", axb, false),
        ("value contains 'x'", &[], false),
        ("value not contains 'x'", &[], false),
        ("value not startswith 'x'", &[], false),
        ("value not endswith 'x'", &[], false),
        ("NOT (value contains 'x')", &[], true),
        ("value contains '2'", number, true),
        ("'axb' contains 'x'", &[], true),
        ("'axb' not contains 'u'", &[], true),
        ("' ' contains ' '", &[], true),
        ("'axb' contains '.'", &[], false),
        ("'s' contains '\\'", &[], false),
        // Not a string: FALSE, also for the NOT forms.
        ("5 contains '5'", &[], false),
        ("5 not contains '5'", &[], false),
        ("VALUE CONTAINS 'x'", &[("VALUE", "axb")], true),
        // RocketMQ tests: ...AllInOne.
        (
            "a not in ('4', '4', '5') and b between 3 and 10 and c not contains 'axbc'",
            &[("a", "3"), ("b", "3"), ("c", "axbdc")],
            true,
        ),
        (
            "a not in ('4', '4', '5') and b between 3 and 10 and c not startswith 'axbc'",
            &[("a", "3"), ("b", "3"), ("c", "axbdc")],
            true,
        ),
        (
            "a not in ('4', '4', '5') and b between 3 and 10 and c not endswith 'axbc'",
            &[("a", "3"), ("b", "3"), ("c", "axbdc")],
            true,
        ),
    ]);
}

#[test]
fn precedence_follows_the_rocketmq_grammar() {
    check_table(&[
        // AND binds tighter than OR.
        ("a = 1 OR b = 2 AND c = 3", &[("a", "1")], true),
        ("a = 1 OR b = 2 AND c = 3", &[("b", "2")], false),
        ("a = 1 OR b = 2 AND c = 3", &[("b", "2"), ("c", "3")], true),
        ("a = 1 OR b = 2 AND c = 3", &[("a", "1"), ("b", "9")], true),
        ("(a = 1 OR b = 2) AND c = 3", &[("a", "1")], false),
        (
            "(a = 1 OR b = 2) AND c = 3",
            &[("a", "1"), ("c", "3")],
            true,
        ),
        ("a = 1 AND b = 2 OR c = 3", &[("c", "3")], true),
        // Ordering binds tighter than equality: (a > 1) = TRUE.
        ("a > 1 = TRUE", &[("a", "2")], true),
        ("a > 1 = TRUE", &[("a", "0")], false),
        // RocketMQ tests: andTrue/andFalse/orTrue/orFalse.
        (
            "a=3 and b<>4 And c>5 AND d<=4",
            &[("a", "3"), ("b", "5"), ("c", "6"), ("d", "1")],
            true,
        ),
        (
            "a=3 and b<>4 And c>5 AND d<=4",
            &[("a", "4"), ("b", "5"), ("c", "6"), ("d", "1")],
            false,
        ),
        ("a=3 or b<>4 Or c>5 OR d<=4", &[("a", "3")], true),
        (
            "a=3 or b<>4 Or c>5 OR d<=4",
            &[("a", "4"), ("b", "5")],
            true,
        ),
        (
            "a=3 or b<>4 Or c>5 OR d<=4",
            &[("a", "4"), ("b", "4"), ("c", "6")],
            true,
        ),
        (
            "a=3 or b<>4 Or c>5 OR d<=4",
            &[("a", "4"), ("b", "4"), ("c", "3"), ("d", "2")],
            true,
        ),
        (
            "a=3 or b<>4 Or c>5 OR d<=4",
            &[("a", "4"), ("b", "4"), ("c", "3"), ("d", "10")],
            false,
        ),
        // RocketMQ test: betweenExpression in ParserTest.
        (
            "(a between 2 and 10) AND (b not between 6 and 9)",
            &[("a", "5"), ("b", "10")],
            true,
        ),
    ]);
}

#[test]
fn keywords_are_case_insensitive_and_whitespace_and_comments_are_skipped() {
    check_table(&[
        ("a = 'x' and b = 'y'", &[("a", "x"), ("b", "y")], true),
        ("a = 'x' oR b = 'y'", &[("b", "y")], true),
        ("a is NOT null", &[("a", "x")], true),
        ("a In ('x')", &[("a", "x")], true),
        ("a nOt iN ('x')", &[("a", "y")], true),
        ("a BeTwEeN 1 aNd 5", &[("a", "3")], true),
        (
            "a Contains 'x' AND a sTaRtSwItH 'x' AND a endsWITH 'x'",
            &[("a", "x")],
            true,
        ),
        ("true", &[], true),
        ("a = tRuE", &[("a", "true")], true),
        ("a\t=\n1\r\n", &[("a", "1")], true),
        ("a=1AND b=2", &[("a", "1"), ("b", "2")], true),
        (
            "a BETWEEN 1AND 5.5E1AND b = 2",
            &[("a", "3"), ("b", "2")],
            true,
        ),
        ("a=1 AND(b=2)", &[("a", "1"), ("b", "2")], true),
        ("a = 1 -- a comment", &[("a", "1")], true),
        ("-- a comment\na = 1", &[("a", "1")], true),
        (
            "a = 1 /* c */ AND /* d\n e */ b = 2",
            &[("a", "1"), ("b", "2")],
            true,
        ),
        ("/**/a = 1/***/", &[("a", "1")], true),
        ("a = '-- not a comment'", &[("a", "-- not a comment")], true),
    ]);
}

#[test]
fn property_names_are_looked_up_exactly() {
    let filter = Sql92Filter::parse("region = 'eu' AND TAGS IN ('A', 'B')").unwrap();
    let seen = std::cell::RefCell::new(Vec::new());
    let lookup = |name: &str| {
        seen.borrow_mut().push(name.to_string());
        match name {
            "region" => Some("eu"),
            "TAGS" => Some("B"),
            _ => None,
        }
    };
    assert!(filter.matches(&lookup));
    assert_eq!(*seen.borrow(), ["region", "TAGS"]);
}

#[test]
fn lookup_may_borrow_from_a_shorter_lived_map() {
    let filter = Sql92Filter::parse("a > 10").unwrap();
    let properties: std::collections::HashMap<String, String> =
        [("a".to_string(), "11".to_string())].into();
    assert!(filter.matches(&|name| properties.get(name).map(String::as_str)));
    assert_eq!(filter.expression(), "a > 10");
    assert_eq!(filter, Sql92Filter::parse("a > 10").unwrap());
    assert_ne!(filter, Sql92Filter::parse("a > 11").unwrap());
}

#[test]
fn parse_errors_say_what_and_where() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "",
            0,
            "expected a property, a literal or '(' but found end of expression",
        ),
        (
            "a = 1 AND",
            9,
            "expected a property, a literal or '(' but found end of expression",
        ),
        (
            "a = 1 AND AND b = 2",
            10,
            "expected a property, a literal or '(' but found 'AND'",
        ),
        ("a = 'abc", 4, "unterminated string literal starting"),
        ("a = 'it''s", 4, "unterminated string literal starting"),
        (
            "a = 1 b = 2",
            6,
            "expected an operator or end of expression but found 'b'",
        ),
        ("a = 1)", 5, "unmatched ')'"),
        ("(a = 1", 0, "unclosed '('"),
        ("((a = 1)", 0, "unclosed '('"),
        ("(a = 1 'x'", 7, "expected ')' but found string 'x'"),
        ("a != 1", 2, "'!=' is not supported, use '<>'"),
        ("a == 1", 2, "'==' is not supported, use '='"),
        ("a = 1 && b = 2", 6, "unexpected character '&' (use AND)"),
        ("a = 1 || b = 2", 6, "unexpected character '|' (use OR)"),
        (
            "a = \"x\"",
            4,
            "unexpected character '\"' (strings are quoted with single quotes)",
        ),
        ("a = 1 AND ~b", 10, "unexpected character '~'"),
        ("a.b = 1", 1, "unexpected character '.'"),
        ("é = 1", 0, "unexpected character 'é'"),
        ("a = 1 /* x", 6, "unterminated comment starting"),
        ("a = NULL", 4, "NULL cannot be compared with '=', use IS NULL"),
        ("NULL = a", 0, "NULL cannot be compared with '=', use IS NULL"),
        (
            "a <> NULL",
            5,
            "NULL cannot be compared with '<>', use IS NOT NULL",
        ),
        ("TRUE = 1", 0, "'TRUE' cannot be compared with '1'"),
        (
            "FALSE <> 'x'",
            0,
            "'FALSE' cannot be compared with string 'x'",
        ),
        (
            "a > 'x'",
            4,
            "'>' needs numbers or properties but found string 'x'",
        ),
        (
            "'x' <= a",
            0,
            "'<=' needs numbers or properties but found string 'x'",
        ),
        ("a >= TRUE", 5, "'>=' needs numbers or properties but found 'TRUE'"),
        ("a < NULL", 4, "'<' needs numbers or properties but found 'NULL'"),
        (
            "(a = 1) > 2",
            0,
            "'>' needs numbers or properties but found '(a = 1)'",
        ),
        (
            "a BETWEEN 10 AND 0",
            10,
            "BETWEEN lower bound '10' is greater than upper bound '0'",
        ),
        (
            " a between 10 and 0",
            11,
            "BETWEEN lower bound '10' is greater than upper bound '0'",
        ),
        (
            "a BETWEEN 'x' AND 'y'",
            10,
            "BETWEEN needs numbers or properties but found string 'x'",
        ),
        (
            "a BETWEEN NULL AND 5",
            10,
            "BETWEEN needs numbers or properties but found 'NULL'",
        ),
        (
            "a BETWEEN 1 OR 2",
            12,
            "expected AND between the BETWEEN bounds but found 'OR'",
        ),
        (
            "a and between 2 and 10",
            6,
            "expected a property, a literal or '(' but found 'between'",
        ),
        ("1 IN ('1')", 0, "IN needs a property on its left but found '1'"),
        (
            "'a' NOT IN ('1')",
            0,
            "IN needs a property on its left but found string 'a'",
        ),
        (
            "a IN (1, 2)",
            6,
            "expected a string literal in the IN list but found '1'",
        ),
        (
            "a IN ('1' '2')",
            10,
            "expected ',' or ')' in the IN list but found string '2'",
        ),
        (
            "a IN ('1',)",
            10,
            "expected a string literal in the IN list but found ')'",
        ),
        ("a IN 'x'", 5, "expected '(' after IN but found string 'x'"),
        (
            "a IN ()",
            6,
            "expected a string literal in the IN list but found ')'",
        ),
        (
            "a IN ('1'",
            9,
            "expected ',' or ')' in the IN list but found end of expression",
        ),
        (
            "value contains x",
            15,
            "expected a string literal after CONTAINS but found 'x'",
        ),
        (
            "value not contains 123",
            19,
            "expected a string literal after CONTAINS but found '123'",
        ),
        (
            "'axb' startswith ",
            17,
            "expected a string literal after STARTSWITH but found end of expression",
        ),
        (
            "a NOT LIKE 'x'",
            6,
            "expected IN, BETWEEN, CONTAINS, STARTSWITH or ENDSWITH after NOT but found 'LIKE'",
        ),
        (
            "a IS 'x'",
            5,
            "expected NULL or NOT NULL after IS but found string 'x'",
        ),
        ("a IS NOT 5", 9, "expected NULL after IS NOT but found '5'"),
        ("'abc'", 0, "expected a condition but found string 'abc'"),
        ("5", 0, "expected a condition but found '5'"),
        ("-a", 0, "expected a condition but found '-a'"),
        ("a = 1 AND 5", 10, "expected a condition but found '5'"),
        ("1.5 OR a = 1", 0, "expected a condition but found '1.5'"),
        ("NOT 'x'", 4, "expected a condition but found string 'x'"),
        (
            "a = 100000000000000000000000",
            4,
            "integer literal '100000000000000000000000' is out of range (the largest is 9223372036854775807)",
        ),
        (
            "a = 9223372036854775808",
            4,
            "integer literal '9223372036854775808' is out of range (the largest is 9223372036854775807)",
        ),
        ("a > 1e999", 4, "decimal literal '1e999' is out of range"),
        (
            "a = 012",
            4,
            "invalid number '012' (leading zeros are not allowed)",
        ),
        ("a = 1abc", 4, "invalid number '1abc'"),
        ("a = 1.5L", 4, "invalid number '1.5L'"),
        ("a = 1.2.3", 4, "invalid number '1.2.3'"),
        ("a = 0x1F", 4, "invalid number '0x1F'"),
        ("a = 5e", 4, "invalid number '5e'"),
        ("a = 1ANDb", 4, "invalid number '1ANDb'"),
        // Positions count characters, not bytes.
        (
            "a = 'é' AND",
            11,
            "expected a property, a literal or '(' but found end of expression",
        ),
        (
            "a = 'a very long string literal that is shown only in part' b",
            60,
            "expected an operator or end of expression but found 'b'",
        ),
        (
            "a = 1 'a very long string literal that is shown only in part'",
            6,
            "expected an operator or end of expression but found string 'a very long string literal that is show…",
        ),
    ];
    let mut failures = Vec::new();
    for &(expression, position, message) in cases {
        let expected = Sql92Error {
            position,
            message: message.to_string(),
        };
        match Sql92Filter::parse(expression) {
            Err(actual) if actual == expected => {}
            other => failures.push(format!(
                "{expression:?}: expected Err({expected}), got {other:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn error_display_ends_with_the_position() {
    let error = parse_error("a = 1 AND AND b = 2");
    assert_eq!(
        error.to_string(),
        "expected a property, a literal or '(' but found 'AND' at position 10"
    );
}

#[test]
fn rocketmq_valid_expressions_parse() {
    // RocketMQ test: ParserTest.testParse_valid (`now` is an ordinary property there too).
    for expression in [
        "a=3 and b<>4 And c>5 AND d<=4",
        "a=3  and    b<>4 And c>5 AND d<=4",
        "a=3 or b<>4 Or c>5 OR d<=4",
        "a in ('3', '4', '5')",
        "(a not in ('6', '4', '5')) or (b in ('3', '4', '5'))",
        "(a between 2 and 10) AND (b not between 6 and 9)",
        "a is null",
        "a is not null",
        "a <= now",
        "a=3 and b contains 'xxx' and c not contains 'xxx'",
        "a BETWEEN 1 AND 1.5",
        "a NOT BETWEEN 5 AND 1",
        "a = 0.0",
    ] {
        if let Err(e) = Sql92Filter::parse(expression) {
            panic!("{expression:?}: {e}");
        }
    }
}

#[test]
fn rocketmq_float_overflow_is_refused() {
    // RocketMQ test: ParserTest.testParse_floatOverFlow, a 200 KiB number. Here the length
    // limit refuses it first; a shorter overflowing literal is refused by value.
    let digits = "1".repeat(400);
    let error = parse_error(&format!("a > {digits}.{digits}"));
    assert_eq!(error.position, 4);
    assert!(error.message.starts_with("decimal literal"), "{error}");
    let huge = format!("a > 1{}.1", "1".repeat(MAX_EXPRESSION_LEN_BYTES));
    assert_eq!(parse_error(&huge).position, MAX_EXPRESSION_LEN_BYTES);
}

#[test]
fn expression_length_is_limited() {
    let prefix = "a = '";
    let fits = format!(
        "{prefix}{}'",
        "x".repeat(MAX_EXPRESSION_LEN_BYTES - prefix.len() - 1)
    );
    assert_eq!(fits.len(), MAX_EXPRESSION_LEN_BYTES);
    assert!(Sql92Filter::parse(&fits).is_ok());

    let too_long = format!(
        "{prefix}{}'",
        "x".repeat(MAX_EXPRESSION_LEN_BYTES - prefix.len())
    );
    let error = parse_error(&too_long);
    assert_eq!(error.position, MAX_EXPRESSION_LEN_BYTES);
    assert_eq!(
        error.message,
        format!(
            "expression is {} bytes long, more than the limit of {MAX_EXPRESSION_LEN_BYTES}",
            MAX_EXPRESSION_LEN_BYTES + 1
        )
    );
}

#[test]
fn nesting_is_limited() {
    let parens = |n: usize| format!("{}a = 1{}", "(".repeat(n), ")".repeat(n));
    assert!(matches(&parens(MAX_NESTING_DEPTH), &[("a", "1")]));
    let error = parse_error(&parens(MAX_NESTING_DEPTH + 1));
    assert_eq!(
        error,
        Sql92Error {
            position: MAX_NESTING_DEPTH,
            message: format!("expression is nested more than {MAX_NESTING_DEPTH} levels deep"),
        }
    );

    let nots = |n: usize| format!("{}(a = 1)", "NOT ".repeat(n));
    assert!(matches(&nots(2), &[("a", "1")]));
    assert!(Sql92Filter::parse(&nots(MAX_NESTING_DEPTH - 2)).is_ok());
    assert!(parse_error(&nots(MAX_NESTING_DEPTH + 1))
        .message
        .contains("nested"));

    // Left-deep chains nest too: ((a = 1) = TRUE) = TRUE ...
    let chain = format!("a = 1{}", " = TRUE".repeat(MAX_NESTING_DEPTH));
    assert!(parse_error(&chain).message.contains("nested"));
    let chain = format!(
        "a CONTAINS 'x'{}",
        " CONTAINS 'x'".repeat(MAX_NESTING_DEPTH)
    );
    assert!(parse_error(&chain).message.contains("nested"));

    // Long AND/OR chains are flat, not deep.
    let conjunction = vec!["a = 1"; 1_000].join(" AND ");
    assert!(matches(&conjunction, &[("a", "1")]));
    let disjunction = vec!["a = 1"; 1_000].join(" OR ");
    assert!(matches(&disjunction, &[("a", "1")]));

    // Far beyond the limit: an error, not a stack overflow.
    for deep in [
        "(".repeat(10_000),
        "- ".repeat(8_000) + "1",
        "+ ".repeat(5_000) + "a",
        "NOT ".repeat(4_000) + "a",
    ] {
        assert!(parse_error(&deep).message.contains("nested"));
    }
}

#[test]
fn in_lists_are_limited() {
    let list = |n: usize| {
        let values: Vec<String> = (0..n).map(|i| format!("'{i}'")).collect();
        format!("a IN ({})", values.join(","))
    };
    assert!(matches(&list(MAX_IN_LIST_LEN), &[("a", "999")]));
    let too_many = list(MAX_IN_LIST_LEN + 1);
    let error = parse_error(&too_many);
    assert_eq!(
        error.message,
        format!("IN list has more than {MAX_IN_LIST_LEN} values")
    );
    assert_eq!(error.position, too_many.rfind(",'1000'").unwrap() + 1);
}

/// Tokens for generating expressions that get past the lexer.
const TOKENS: &[&str] = &[
    "a",
    "b",
    "TAGS",
    "'x'",
    "'1'",
    "''",
    "1",
    "5",
    "2.5",
    "-",
    "+",
    "(",
    ")",
    ",",
    "=",
    "<>",
    ">",
    ">=",
    "<",
    "<=",
    "AND",
    "OR",
    "NOT",
    "IN",
    "BETWEEN",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "CONTAINS",
    "STARTSWITH",
    "ENDSWITH",
];
const VALUES: &[&str] = &[
    "1",
    "5",
    "2.5",
    "abc",
    "x",
    "",
    "true",
    "NaN",
    "-0",
    "3000000000",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|tokens| tokens.join(" "))
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_text(expression in "\\PC{0,200}") {
        if let Err(e) = Sql92Filter::parse(&expression) {
            prop_assert!(e.position <= expression.chars().count());
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn parse_and_match_never_panic_on_token_soup(
        expression in token_soup(),
        a in prop::option::of(prop::sample::select(VALUES)),
        b in prop::option::of(prop::sample::select(VALUES)),
    ) {
        match Sql92Filter::parse(&expression) {
            Ok(filter) => {
                let lookup = |name: &str| match name {
                    "a" => a,
                    "b" => b,
                    _ => None,
                };
                let _ = filter.matches(&lookup);
            }
            Err(e) => prop_assert!(e.position <= expression.chars().count()),
        }
    }

    #[test]
    fn deep_nesting_fails_cleanly(depth in 0usize..3_000, opener in prop::sample::select(&["(", "NOT ", "- ", "+"][..])) {
        let expression = format!("{}a = 1{}", opener.repeat(depth), if opener == "(" { ")".repeat(depth) } else { String::new() });
        match Sql92Filter::parse(&expression) {
            Ok(_) => prop_assert!(depth <= MAX_NESTING_DEPTH),
            Err(e) => prop_assert!(depth > MAX_NESTING_DEPTH - 3, "{e}"),
        }
    }
}
