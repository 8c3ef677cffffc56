//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::extract::query_schema;
use crate::routes::{articles, assistant, content, docs, kb, public, sources};

#[derive(OpenApi)]
#[openapi(
    info(title = "Tome", description = "Knowledge-base and help-centre server. The management API takes admin bearer keys; the public API (`/v1/kb/public/{slug}/…`) takes a site key in `X-Minolith-Site-Key` from an allowed origin. The documentation search and assistant endpoints (`/v1/search/{domain}`, `/v1/page/{domain}`, `/v{1,2}/assistant/{domain}/message`) take an assistant bearer key (`tome_dsc_…`), or from a browser the public knowledge base's site key."),
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
        sources::get_source, sources::put_source, sources::delete_source,
        sources::trigger_update, sources::update_status, sources::list_updates,
        sources::push_hook,
        docs::search, docs::page, assistant::message_v2, assistant::message_v1,
        assistant::conversations, assistant::thread,
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

/// The error responses of every operation, by what the operation has: every one can fail
/// authentication, the rate limit, a malformed request and the database; one with a path
/// parameter can name something that does not exist (`{projectId}` cannot: it must be the key's
/// project, else 400); one with query parameters or a body can fail validation; one with a body
/// can send too much.
struct CommonResponses;

/// Whether `path` is one of the docs-platform read endpoints behind [`crate::docs::gate`].
fn is_docs_platform(path: &str) -> bool {
    [
        "/v1/search/",
        "/v1/page/",
        "/v1/assistant/",
        "/v2/assistant/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
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
        for (path, item) in openapi.paths.paths.iter_mut() {
            let public = path.starts_with("/v1/kb/public/");
            let docs = is_docs_platform(path);
            let content = ["categories", "sections", "articles", "faqs"]
                .iter()
                .any(|k| path.starts_with(&format!("/v1/kb/{{kb_id}}/{k}")));
            for op in [&mut item.put, &mut item.post, &mut item.delete]
                .into_iter()
                .flatten()
                .filter(|_| content)
            {
                op.responses
                    .responses
                    .entry("409".to_string())
                    .or_insert_with(|| {
                        error("The knowledge base's content is managed by its source (`source_managed`).")
                            .into()
                    });
            }
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                let has_body = op.request_body.is_some();
                let params = op.parameters.as_deref().unwrap_or_default();
                let has_path = params
                    .iter()
                    .any(|p| p.parameter_in == ParameterIn::Path && p.name != "projectId");
                let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
                let r = &mut op.responses.responses;
                if public {
                    // Public answers carry an `ETag`; a matching `If-None-Match` gets no body.
                    r.entry("304".to_string()).or_insert_with(|| {
                        ResponseBuilder::new()
                            .description("Not modified: `If-None-Match` matched the `ETag`.")
                            .build()
                            .into()
                    });
                }
                let mut add = |code: &str, description: &str| {
                    r.entry(code.to_string())
                        .or_insert_with(|| error(description).into());
                };
                if public {
                    add("401", "Missing or unknown site key (`unauthorized`).");
                    add(
                        "403",
                        "The knowledge base is not public, or the request's origin is not allowed (`forbidden`).",
                    );
                } else if docs {
                    add(
                        "401",
                        "No key (neither a bearer key nor `X-Minolith-Site-Key`), or an invalid or revoked bearer key (`unauthorized`).",
                    );
                    add(
                        "403",
                        "An admin key (these endpoints take an assistant key, `tome_dsc_…`); or a site key that is refused: unknown or revoked, another knowledge base's, a private knowledge base's, or from an origin the project does not allow (`forbidden`, one body for all).",
                    );
                } else {
                    add(
                        "401",
                        "Missing, invalid or revoked API key (`unauthorized`).",
                    );
                    add("403", "The key is not an admin key (`forbidden`).");
                }
                add(
                    "429",
                    "Rate limit exceeded (`rate_limit_exceeded`); see `Retry-After`.",
                );
                add(
                    "400",
                    "Malformed request: JSON, Content-Type, query string or cursor (`invalid_request`).",
                );
                if has_path {
                    add("404", "Not found (`*_not_found`).");
                }
                if has_body || has_query {
                    add(
                        "422",
                        "A field or parameter breaks a rule (`validation_error`; `details` names the field).",
                    );
                }
                if has_body {
                    add("413", "Request body too large (`payload_too_large`).");
                }
                add(
                    "503",
                    "The database or the search index is unavailable (`service_unavailable`); retry shortly.",
                );
            }
        }
    }
}

/// The document as JSON, rendered once at start-up.
pub fn document() -> String {
    let mut doc = match serde_json::to_value(ApiDoc::openapi()) {
        Ok(doc) => doc,
        Err(e) => {
            tracing::error!(error = %e, "could not render the OpenAPI document");
            return "{}".to_string();
        }
    };
    complete(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_string())
}

/// Fills in what utoipa's types cannot hold: the request body schemas and the query parameters'
/// rules, both from the code that validates them.
fn complete(doc: &mut Value) {
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in tome_core::input::schema::all() {
            schemas.insert(name.to_string(), schema);
        }
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    docs_platform(paths);
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for p in params {
                if p["in"] != "query" {
                    continue;
                }
                let Some(name) = p["name"].as_str() else {
                    continue;
                };
                if let Some(schema) = query_schema(name) {
                    p["schema"] = schema;
                }
            }
        }
    }
}

/// The docs-platform read endpoints: their request bodies (with the limits the handlers check)
/// and their callers (an assistant key, or a site key from a browser). Optional fields take
/// `null` as absent, as the handlers read them; fields the handlers do not read (a message's `id`,
/// a context's `path`) take anything.
fn docs_platform(paths: &mut serde_json::Map<String, Value>) {
    use serde_json::json;
    use tome_core::input::schema::nullable;
    // Not blank after trimming, no NUL: the rule `check_text` applies.
    let non_blank = tome_core::input::schema::not_blank();
    let strings = || nullable(json!({"type": "array", "items": {"type": "string"}}));
    // Both endpoints read `tag` (the spec names it for search only; Tome's assistant honours it too).
    let filter = nullable(json!({"type": "object", "properties": {
            "version": nullable(json!({"type": "string"})),
            "language": nullable(json!({"type": "string"})),
            "groups": strings(),
            "tag": nullable(json!({"type": "string", "description": "Only passages of articles with this tag."})),
        },
        "description": "`version`, `language` and `groups` are accepted and ignored (no versions, translations or reader groups yet)."}));
    let page_path = json!({"type": "string", "minLength": 1, "maxLength": docs::MAX_PAGE_PATH, "pattern": non_blank,
        "description": "A `path` from search (`/articles/kba_…-title`); the page's hosted URL or the bare article ID also work."});
    // A part's `text` is read from `text` parts only; other parts (`reasoning`, `source-url`,
    // `file`, `step-start`, …) are accepted and skipped.
    let part = json!({"type": "object", "required": ["type"],
        "properties": {"type": {"type": "string"}},
        "if": {"properties": {"type": {"const": "text"}}},
        "then": {"required": ["text"], "properties": {"text": {"type": "string"}}}});
    let message = json!({"type": "object", "required": ["role"], "properties": {
        "id": {"description": "The client's ID for the message (not read)."},
        "role": {"type": "string", "enum": ["system", "assistant", "data", "user"],
                 "description": "`user` and `assistant` messages make the conversation; `system` and `data` ones are accepted and not used."},
        "parts": nullable(json!({"type": "array", "items": part, "description": "The message's text is its `text` parts, joined by line breaks."})),
        "content": nullable(json!({"type": "string", "description": "The message's text when it has no `text` parts (AI SDK v4)."})),
    }});
    let messages = json!({"type": "array", "minItems": 1, "maxItems": assistant::MAX_MESSAGES, "items": message,
        "description": format!("The conversation, oldest first; the last message is the user's, with non-empty text; at most {} bytes of text in all.", assistant::MAX_TEXT_BYTES)});
    let message_body = json!({"type": "object", "required": ["fp", "messages"], "properties": {
        "fp": {"type": "string", "minLength": 1, "maxLength": assistant::MAX_FP, "pattern": non_blank, "description": "A fingerprint of the asker; `anonymous` if none."},
        "messages": messages,
        "threadId": nullable(json!({"type": "string", "description": "Continues a conversation (`thr_…`); empty starts a new one."})),
        "retrievalPageSize": nullable(json!({"type": "integer", "minimum": 1, "maximum": assistant::MAX_RETRIEVAL, "default": assistant::DEFAULT_RETRIEVAL,
            "description": "Passages retrieved to ground the answer."})),
        "filter": filter,
        "context": nullable(json!({"type": "array", "items": {"type": "object", "required": ["type", "value"], "properties": {
            "type": {"type": "string", "enum": ["code", "textSelection"]},
            "value": {"type": "string"},
            "path": {"description": "Not read."},
            "elementId": {"description": "Not read."}}},
            "description": "What the asker selected on the page: `textSelection` values (their first 500 characters) join the search for the answer; `code` is accepted and not used."})),
        "currentPath": nullable(json!({"type": "string", "maxLength": assistant::MAX_CURRENT_PATH, "pattern": "^[^\\u0000]*$",
            "description": "The page the asker is on; when it names an article (`/articles/kba_…`), retrieval leans toward that article."})),
    }});
    let bodies = [
        (
            "/v1/search/{domain}",
            json!({"type": "object", "required": ["query"], "properties": {
                "query": {"type": "string", "minLength": 1, "maxLength": tome_search::MAX_QUERY_CHARS, "pattern": non_blank},
                "pageSize": nullable(json!({"type": "integer", "minimum": 1, "maximum": docs::MAX_PAGE_SIZE, "default": docs::DEFAULT_PAGE_SIZE})),
                "scoreThreshold": nullable(json!({"type": "number", "minimum": 0, "maximum": 1,
                    "description": "Only passages scoring at least this (`metadata.score`)."})),
                "filter": filter,
            }}),
        ),
        (
            "/v1/page/{domain}",
            json!({"type": "object", "required": ["path"], "properties": {
            "path": page_path, "groups": strings()}}),
        ),
        ("/v2/assistant/{domain}/message", message_body.clone()),
        ("/v1/assistant/{domain}/message", message_body),
    ];
    for (path, schema) in bodies {
        let Some(op) = paths.get_mut(path).and_then(|item| item.get_mut("post")) else {
            continue;
        };
        let mut body =
            json!({"required": true, "content": {"application/json": {"schema": schema}}});
        // The annotation's description says what the body is for; the schema replaces its `Value`.
        if let Some(description) = op.pointer("/requestBody/description") {
            body["description"] = description.clone();
        }
        op["requestBody"] = body;
        op["security"] = json!([{"bearer": []}, {"site_key": []}]);
    }
}
