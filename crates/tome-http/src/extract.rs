//! Extractors that turn bad input into our error envelope instead of axum's plain text.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use tome_core::cursor::CursorCodec;
use tome_core::model::Status;
use tome_store::PageRequest;

use crate::error::ApiError;

/// A JSON request body: `Content-Type: application/json`, a JSON object, no unknown fields.
///
/// Malformed JSON or a wrong content type → 400; a body over the limit → 413; a field of the
/// wrong type or an unknown field → 422 naming the field (`articles[3].title`).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|m| {
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::bad_request(
                "Content-Type must be application/json.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large()
            } else {
                ApiError::bad_request("Could not read the request body.")
            }
        })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("Malformed JSON: {e}.")))?;
        if !value.is_object() {
            return Err(ApiError::bad_request(
                "The request body must be a JSON object.",
            ));
        }
        from_value(value).map(ApiJson)
    }
}

/// Reads a request body's JSON object as `T` exactly as [`ApiJson`] does — whole numbers as
/// integers, a field of the wrong type or an unknown field a 422 naming it — for callers that
/// build the object themselves (the dashboard's forms).
pub fn from_value<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, ApiError> {
    integral_numbers_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        // serde reports unknown fields at the enclosing object; name the field itself.
        if let Some(name) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
        {
            let field = if path == "." {
                name.to_string()
            } else if path == name || path.ends_with(&format!(".{name}")) {
                path
            } else {
                format!("{path}.{name}")
            };
            return ApiError::validation(field, "is not a known field");
        }
        ApiError::validation(if path == "." { String::new() } else { path }, message)
    })
}

/// JSON has one number type: `200.0` and `2e2` are the integer 200 (JSON Schema's `integer`
/// says so too), but serde reads them as floats and refuses them for an integer field. Every
/// number of a body that is a whole number within `i64` becomes an integer before the body is
/// read; a fraction stays a float and is refused as one.
fn integral_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                // Strictly inside the i64 range: `i64::MAX as f64` rounds up to 2^63.
                if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63) {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

/// Query-string parameters, parsed by hand so each bad value gets a precise error.
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Query(m)| Params(m))
            .map_err(|_| ApiError::bad_request("Malformed query string."))
    }
}

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;
/// `?q` of a search: at most this many characters once trimmed.
pub const SEARCH_TEXT_MAX: usize = 500;

/// The JSON Schema of a query parameter as [`Params`] reads it, for the OpenAPI document; `None`
/// for a free-form string. Built from the same constants and names the parsers use.
pub fn query_schema(name: &str) -> Option<serde_json::Value> {
    use serde_json::json;
    use tome_core::input::schema;
    Some(match name {
        "limit" => {
            json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT })
        }
        "is_public" => json!({ "type": "boolean" }),
        "q" => schema::search_text(SEARCH_TEXT_MAX),
        "status" => schema::status_list(),
        "type" => json!({ "type": "string", "enum": ["article", "faq"] }),
        _ => return None,
    })
}

impl Params {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A parameter as sent, even empty. Typed parameters (`limit`, booleans, `type`) use it: an
    /// empty `?limit=` is not a number. Free-text filters use [`Params::get`], where an empty
    /// value is no filter.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// `?limit`: 1–100, default 20.
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.raw("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| ApiError::validation("limit", "must be an integer from 1 to 100")),
        }
    }

    /// `?q` of a search: required, at most 500 characters, trimmed.
    pub fn search_text(&self) -> Result<String, ApiError> {
        let text = self.get("q").map(str::trim).unwrap_or_default();
        if text.is_empty() {
            return Err(ApiError::validation("q", "is required"));
        }
        if text.chars().count() > SEARCH_TEXT_MAX {
            return Err(ApiError::validation(
                "q",
                format!("must be at most {SEARCH_TEXT_MAX} characters"),
            ));
        }
        Ok(text.to_string())
    }

    /// `?limit` (1–100, default 20) and `?cursor` for the list called `list`.
    pub fn page(&self, codec: &CursorCodec, list: &str) -> Result<PageRequest, ApiError> {
        let limit = self.limit()?;
        let after = match self.get("cursor") {
            None => None,
            Some(c) => Some(codec.decode(list, c).ok_or_else(|| {
                ApiError::bad_request("Invalid pagination cursor.")
                    .with_details(serde_json::json!({ "field": "cursor", "reason": "is not a cursor this list issued" }))
            })?),
        };
        Ok(PageRequest { limit, after })
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::validation(key, "must be true or false")),
        }
    }

    /// `?status=draft,published` → statuses; empty means all.
    pub fn statuses(&self) -> Result<Vec<Status>, ApiError> {
        let Some(raw) = self.get("status") else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let s = tome_core::input::status("status", part)?;
            if !out.contains(&s) {
                out.push(s);
            }
        }
        Ok(out)
    }
}

/// The authenticated caller, put in request extensions by the auth middleware.
#[derive(Debug, Clone)]
pub struct Auth {
    pub project_id: String,
    pub key_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Auth>().cloned().ok_or_else(|| {
            tracing::error!("handler reached without the auth middleware");
            ApiError::internal()
        })
    }
}
