//! The console's JSON API: one file per view, this table of routes, and the error type.
//! Handlers validate their input, call the admin API, and shape its answer for the page;
//! nothing here talks to a broker directly.
//!
//! Errors are `{"error": "..."}` with a status that says whose fault it is: 400 for a bad
//! request, 404 for a topic, group or message that does not exist, 502 when a broker or name
//! server cannot be reached or refuses, 500 otherwise. The message is the admin API's, which
//! names what failed and what to do.

pub mod cluster;
pub mod group;
pub mod message;
pub mod producer;
pub mod topic;
pub mod trace;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use petrel_client::admin::{Admin, AdminError};

/// What every handler works with.
#[derive(Clone)]
pub struct AppState {
    pub admin: Admin,
}

/// The routes, and nothing else.
pub fn routes(admin: Admin) -> Router {
    Router::new()
        .route("/api/cluster", get(cluster::cluster))
        .route("/api/topics", get(topic::list).post(topic::create))
        .route(
            "/api/topics/{topic}",
            get(topic::detail).delete(topic::delete),
        )
        .route("/api/groups", get(group::list).post(group::create))
        .route(
            "/api/groups/{group}",
            get(group::detail).delete(group::delete),
        )
        .route(
            "/api/groups/{group}/reset-offset",
            post(group::reset_offset),
        )
        .route("/api/producers", get(producer::connections))
        .route("/api/messages", get(message::by_time))
        .route("/api/messages/by-key", get(message::by_key))
        .route("/api/messages/by-id", get(message::by_id))
        .route("/api/messages/resend", post(message::resend))
        .route("/api/trace", get(trace::by_msg_id))
        .route("/api/{*rest}", any(not_found))
        .with_state(AppState { admin })
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such API; the console's API is under /api/ (see docs/console.md)".into())
}

/// A failed API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Upstream(String),
    #[error("{0}")]
    Internal(String),
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        use petrel_client::ClientError;
        let text = e.to_string();
        match e {
            AdminError::TopicNotExist(_)
            | AdminError::GroupNotExist(_)
            | AdminError::MessageNotFound(_)
            | AdminError::ConsumerNotOnline(_)
            | AdminError::ProducerNotOnline(_)
            | AdminError::ClusterNotExist { .. } => ApiError::NotFound(text),
            AdminError::Client(ClientError::InvalidArgument(_)) => ApiError::BadRequest(text),
            AdminError::BrokerUnreachable { .. } | AdminError::Client(_) => {
                ApiError::Upstream(text)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

pub type ApiResult<T> = Result<Json<T>, ApiError>;

/// A required, non-blank text parameter, trimmed.
pub(crate) fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, ApiError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::BadRequest(format!("{name} is required"))),
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
