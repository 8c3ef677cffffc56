//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{articles, content, kb, public};

#[derive(OpenApi)]
#[openapi(
    info(title = "Tome", description = "Knowledge-base and help-centre server. The management API takes admin bearer keys; the public API (`/v1/kb/public/{slug}/…`) takes a site key in `X-Minolith-Site-Key` from an allowed origin."),
    paths(
        kb::create_kb, kb::list_kbs, kb::get_kb, kb::update_kb, kb::delete_kb,
        kb::get_site_key, kb::revoke_site_key, kb::update_site_key,
        kb::get_project, kb::update_project, kb::get_usage,
        content::create_category, content::list_categories, content::get_category,
        content::update_category, content::delete_category,
        content::create_section, content::list_sections, content::get_section,
        content::update_section, content::delete_section,
        articles::create_article, articles::bulk_create_articles, articles::bulk_update_articles,
        articles::list_articles, articles::get_article, articles::update_article,
        articles::publish_article, articles::archive_article, articles::delete_article,
        articles::create_faq, articles::list_faqs, articles::get_faq, articles::update_faq,
        articles::publish_faq, articles::delete_faq, articles::search,
        public::structure, public::categories, public::category, public::article, public::faqs,
        public::search,
    ),
    modifiers(&BearerAuth, &CommonResponses),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "site_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Minolith-Site-Key"))),
        );
    }
}

/// Responses every operation can give: auth and rate-limit failures everywhere, and malformed or
/// oversized bodies where there is a body.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                let has_body = op.request_body.is_some();
                let r = &mut op.responses.responses;
                let mut add = |code: &str, description: &str| {
                    r.entry(code.to_string())
                        .or_insert_with(|| error(description).into());
                };
                add(
                    "401",
                    "Missing, invalid or revoked API key (`unauthorized`).",
                );
                add("403", "The key is not an admin key (`forbidden`).");
                add(
                    "429",
                    "Rate limit exceeded (`rate_limit_exceeded`); see `Retry-After`.",
                );
                add(
                    "400",
                    "Malformed request: JSON, Content-Type, query string or cursor (`invalid_request`).",
                );
                if has_body {
                    add("413", "Request body too large (`payload_too_large`).");
                }
            }
        }
    }
}

/// The document as JSON, rendered once at start-up.
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not render the OpenAPI document");
        "{}".to_string()
    })
}
