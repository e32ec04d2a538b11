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

/// Why a subscription expression cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("{SQL92_DISABLED}")]
    Sql92Disabled,
    #[error("bad SQL92 expression {expression:?}: {source}")]
    Sql92 {
        expression: String,
        #[source]
        source: sql92::Sql92Error,
    },
    #[error("unknown expression type {0:?}; expected TAG or SQL92")]
    UnknownType(String),
}

impl SubscriptionFilter {
    /// Parses a subscription expression. Tag expressions never fail; SQL92 needs
    /// `enablePropertyFilter` and a valid expression (the error says where it is wrong).
    pub fn parse(
        expression_type: Option<&str>,
        expression: &str,
        sql92_enabled: bool,
    ) -> Result<Self, FilterError> {
        match expression_type
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(EXPRESSION_TYPE_TAG)
        {
            t if t.eq_ignore_ascii_case(EXPRESSION_TYPE_TAG) => Ok(Self::parse_tags(expression)),
            t if t.eq_ignore_ascii_case(EXPRESSION_TYPE_SQL92) => {
                if !sql92_enabled {
                    return Err(FilterError::Sql92Disabled);
                }
                sql92::Sql92Filter::parse(expression)
                    .map(Self::Sql92)
                    .map_err(|source| FilterError::Sql92 {
                        expression: expression.to_string(),
                        source,
                    })
            }
            other => Err(FilterError::UnknownType(other.to_string())),
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
        assert_eq!(
            SubscriptionFilter::parse(Some("SQL92"), "a > 1", false),
            Err(FilterError::Sql92Disabled)
        );
        assert!(SQL92_DISABLED.contains("enablePropertyFilter"));
        assert!(SubscriptionFilter::parse(Some("SQL92"), "a > 1", true).is_ok());
        assert!(SubscriptionFilter::parse(Some("SQL92"), "a > AND", true)
            .unwrap_err()
            .to_string()
            .contains("position"));
        assert_eq!(
            SubscriptionFilter::parse(Some("XPATH"), "x", true),
            Err(FilterError::UnknownType("XPATH".into()))
        );
    }
}
