//! The guard on every state-changing request: [`Posted`] checks that the request comes from a
//! dashboard page (`Sec-Fetch-Site` / `Origin`), that it belongs to a live session, and that it
//! carries the session's CSRF token — in that order, so a cross-site post is refused before
//! anything is read — then hands the page the form's fields.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use tome_http::AppState;

use crate::session::{Session, csrf_matches};
use crate::view;

/// The largest form body the dashboard reads (an article body is at most 100,000 characters of
/// up to 4 bytes, percent-encoded; the server's own body limit applies first).
const MAX_FORM_BYTES: usize = 4 * 1024 * 1024;

/// The fields of a submitted form, in order (a field may repeat, e.g. `tags`).
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// Parses an `application/x-www-form-urlencoded` body.
    ///
    /// Browsers send a textarea's line breaks as CR LF (the HTML form-submission rule); they are
    /// stored as LF, as the API's clients send them, so an article saved here reads the same
    /// through the API, in git diffs and in the editor.
    pub fn parse(body: &[u8]) -> Form {
        Form {
            fields: url::form_urlencoded::parse(body)
                .map(|(k, v)| {
                    let v = if v.contains('\r') {
                        v.replace("\r\n", "\n")
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect(),
        }
    }

    /// The first value of `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of `name`, or an empty string.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// Whether a checkbox named `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v != "false" && v != "0")
    }
}

/// Whether the request was sent by a page of this origin. `Sec-Fetch-Site` (sent by every
/// current browser) must say `same-origin`; failing that, an `Origin` header must name this
/// host. A request with neither header comes from something that is not a browser, which cannot
/// ride a victim's cookie — the CSRF token still has to match.
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == "null" {
        return false;
    }
    let Some((_, authority)) = origin.split_once("://") else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let configured = state
        .config
        .base_url
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(rest));
    host.is_some_and(|h| h.eq_ignore_ascii_case(authority))
        || configured.is_some_and(|c| c.eq_ignore_ascii_case(authority))
}

/// A checked state-changing request: its session and its form.
pub struct Posted {
    pub session: Session,
    pub form: Form,
}

/// 403 for a request that did not come from a dashboard page of this session.
fn forbidden() -> Response {
    view::error_page(
        StatusCode::FORBIDDEN,
        "This request did not come from a dashboard page, so it was refused and nothing was \
         changed. Reload the page and try again.",
    )
}

impl Posted {
    /// The origin and token checks on their own, for requests that carry no form body.
    pub async fn check(parts: &mut Parts, state: &AppState) -> Result<Session, Response> {
        if !same_origin(state, &parts.headers) {
            return Err(forbidden());
        }
        Session::from_request_parts(parts, state).await
    }
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let session = Posted::check(&mut parts, state).await?;
        let form_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim() == "application/x-www-form-urlencoded")
            });
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                view::error_page(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The form is larger than the server accepts.",
                )
            })?;
        let form = if form_type || bytes.is_empty() {
            Form::parse(&bytes)
        } else {
            return Err(view::error_page(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Forms are sent as application/x-www-form-urlencoded.",
            ));
        };
        let presented = form
            .get("_csrf")
            .map(str::to_string)
            .or_else(|| {
                parts
                    .headers
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        if !csrf_matches(&session.csrf, &presented) {
            return Err(forbidden());
        }
        Ok(Posted { session, form })
    }
}

#[cfg(test)]
mod tests {
    use super::Form;

    #[test]
    fn textarea_line_breaks_arrive_as_lf() {
        let form =
            Form::parse(b"body=%23+Steps%0D%0A%0D%0AOpen+it.%0D%0A&title=a%0Db&tags=x&tags=y");
        assert_eq!(form.text("body"), "# Steps\n\nOpen it.\n");
        // A lone CR is not a browser's line break: kept as sent.
        assert_eq!(form.text("title"), "a\rb");
        assert_eq!(form.all("tags"), ["x", "y"]);
    }
}
