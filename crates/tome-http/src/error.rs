//! The one place errors become HTTP responses: `{"error": {"code", "message", "details"}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use tome_core::ValidationError;
use tome_store::StoreError;

/// An error as the client sees it.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Boxed: errors travel in every `Result`, and most have no details.
    pub details: Option<Box<Value>>,
    /// Seconds, for 429 responses.
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such endpoint.")
    }

    pub fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "This endpoint does not support that HTTP method.",
        )
    }

    pub fn payload_too_large() -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Request body is too large.",
        )
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "Rate limit exceeded. Retry after the number of seconds in Retry-After.",
        );
        e.retry_after = Some(retry_after);
        e
    }

    pub fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error.",
        )
    }

    pub fn validation(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ValidationError::new(field, reason).into()
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
            if e.field.is_empty() {
                format!("Validation failed: {}.", e.reason)
            } else {
                format!("Validation failed: {}: {}.", e.field, e.reason)
            },
        )
        .with_details(json!({ "field": e.field, "reason": e.reason }))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity) => ApiError::new(
                StatusCode::NOT_FOUND,
                entity.not_found_code(),
                format!("{} not found.", entity.label()),
            ),
            StoreError::Invalid(v) => v.into(),
            StoreError::SpendingCap { cap, used, price } => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "spending_cap_exceeded",
                "This would exceed the project's monthly credit cap.",
            )
            .with_details(
                json!({ "credit_cap": cap, "credits_used": used, "credits_required": price }),
            ),
            StoreError::Unavailable(source) => {
                tracing::error!(error = %source, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "The service is temporarily unavailable. Retry shortly.",
                )
            }
            other => {
                tracing::error!(error = ?other, "internal error");
                ApiError::internal()
            }
        }
    }
}

impl From<tome_search::SearchError> for ApiError {
    fn from(e: tome_search::SearchError) -> Self {
        match e {
            tome_search::SearchError::Store(e) => e.into(),
            other => {
                tracing::error!(error = %other, "search engine error");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "Search is temporarily unavailable. Retry shortly.",
                )
            }
        }
    }
}

/// The error envelope, for OpenAPI.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorObject,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorObject {
    /// Stable machine-readable code, e.g. `validation_error`, `kb_not_found`.
    pub code: String,
    pub message: String,
    /// For validation errors: `{"field": "articles[3].title", "reason": "..."}`.
    #[schema(value_type = Option<Object>, required = true)]
    pub details: Option<Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": { "code": self.code, "message": self.message, "details": self.details }
        });
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
