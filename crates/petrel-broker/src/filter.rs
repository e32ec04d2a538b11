//! Subscription filters as the store applies them: tag expressions (`*`, `TagA || TagB`) by
//! ConsumeQueue tag hash first, then the exact tag string on the record, so that neither
//! filtered-out messages nor hash collisions cross the network; SQL92 expressions over message
//! properties ([`sql92`]) on the record, when `enablePropertyFilter` is on.

pub mod sql92;
use petrel_protocol::message::{properties, tag_hash_code, PropertiesIter, RecordView};
use petrel_store::MessageFilter;

pub const EXPRESSION_TYPE_TAG: &str = "TAG";
pub const EXPRESSION_TYPE_SQL92: &str = "SQL92";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionFilter {
    /// `*` or empty: every message.
    All,
    /// Messages tagged with one of these tags.
    Tags { tags: Vec<String>, codes: Vec<i64> },
    /// Messages whose properties satisfy a SQL92 expression.
    Sql92(sql92::Sql92Filter),
}

/// RocketMQ's remark when SQL92 is asked of a broker without `enablePropertyFilter`.
pub const SQL92_DISABLED: &str =
    "The broker does not support consumer to filter message by SQL92 (enablePropertyFilter=false)";

impl SubscriptionFilter {
    /// Parses a subscription expression. Tag expressions never fail; SQL92 needs
    /// `enablePropertyFilter` and a valid expression (the error says where it is wrong).
    pub fn parse(
        expression_type: Option<&str>,
        expression: &str,
        sql92_enabled: bool,
    ) -> Result<Self, String> {
        match expression_type
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(EXPRESSION_TYPE_TAG)
        {
            t if t.eq_ignore_ascii_case(EXPRESSION_TYPE_TAG) => Ok(Self::parse_tags(expression)),
            t if t.eq_ignore_ascii_case(EXPRESSION_TYPE_SQL92) => {
                if !sql92_enabled {
                    return Err(SQL92_DISABLED.to_string());
                }
                sql92::Sql92Filter::parse(expression)
                    .map(Self::Sql92)
                    .map_err(|e| format!("bad SQL92 expression {expression:?}: {e}"))
            }
            other => Err(format!(
                "unknown expression type {other:?}; expected TAG or SQL92"
            )),
        }
    }

    /// `*`/empty → all; otherwise tags separated by `||`, trimmed (the hash codes a client sends
    /// are ignored: some clients hash untrimmed tags).
    pub fn parse_tags(expression: &str) -> Self {
        let trimmed = expression.trim();
        if trimmed.is_empty() || trimmed == "*" {
            return Self::All;
        }
        let mut tags: Vec<String> = trimmed
            .split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        tags.sort();
        tags.dedup();
        if tags.is_empty() {
            return Self::All;
        }
        let codes = tags.iter().map(|t| tag_hash_code(t)).collect();
        Self::Tags { tags, codes }
    }
}

impl MessageFilter for SubscriptionFilter {
    fn matches_tags_code(&self, tags_code: i64) -> bool {
        match self {
            Self::All | Self::Sql92(_) => true,
            Self::Tags { codes, .. } => codes.contains(&tags_code),
        }
    }

    fn matches_record(&self, record: &[u8]) -> bool {
        match self {
            Self::All => true,
            Self::Tags { tags, .. } => {
                let Ok(view) = RecordView::parse(record) else {
                    return false;
                };
                let Ok(mut props) = PropertiesIter::new(view.properties()) else {
                    return false;
                };
                props.any(|(k, v)| k == properties::TAGS && tags.iter().any(|t| t == v))
            }
            Self::Sql92(filter) => {
                let Ok(view) = RecordView::parse(record) else {
                    return false;
                };
                let Ok(props) = PropertiesIter::new(view.properties()) else {
                    return false;
                };
                // Java reads properties into a map: a repeated key keeps its last value.
                let map: std::collections::HashMap<&str, &str> = props.collect();
                filter.matches(&|name| map.get(name).copied())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tag_expressions() {
        assert_eq!(
            SubscriptionFilter::parse(None, "*", false).unwrap(),
            SubscriptionFilter::All
        );
        assert_eq!(
            SubscriptionFilter::parse(Some("TAG"), "", false).unwrap(),
            SubscriptionFilter::All
        );
        let f = SubscriptionFilter::parse(Some("TAG"), "TagA || TagB ||TagA", false).unwrap();
        assert_eq!(
            f,
            SubscriptionFilter::Tags {
                tags: vec!["TagA".into(), "TagB".into()],
                codes: vec![tag_hash_code("TagA"), tag_hash_code("TagB")]
            }
        );
        assert!(f.matches_tags_code(tag_hash_code("TagB")));
        assert!(!f.matches_tags_code(tag_hash_code("TagC")));
        assert!(SubscriptionFilter::parse(Some("SQL92"), "a > 1", false)
            .unwrap_err()
            .contains("enablePropertyFilter"));
        assert!(SubscriptionFilter::parse(Some("SQL92"), "a > 1", true).is_ok());
        assert!(SubscriptionFilter::parse(Some("SQL92"), "a > AND", true)
            .unwrap_err()
            .contains("position"));
        assert!(SubscriptionFilter::parse(Some("XPATH"), "x", true).is_err());
    }
}
