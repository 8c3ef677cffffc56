//! The management MCP server: tools, resources and resource templates for one key's project.

use std::borrow::Cow;
use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use base64::Engine;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse,
    Implementation, JsonObject, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};
use tome_core::keys::KeyKind;
use tome_http::AppState;

use crate::catalog::{Audience, Catalog, ToolDef};
use crate::dispatch::{self, Answer, Caller, encode as enc};

/// The protocol revisions Tome speaks: the stateless one, and the last with the handshake.
pub const VERSIONS: &[ProtocolVersion] =
    &[ProtocolVersion::V_2026_07_28, ProtocolVersion::V_2025_11_25];

/// How long a client may keep a list (tools, templates) before asking again.
const LIST_TTL_MS: u64 = 60_000;

/// Articles per page of `resources/list`.
const RESOURCE_PAGE: usize = 100;

/// What every request of the management server shares.
pub struct Shared {
    pub state: AppState,
    /// The REST routes tool calls are dispatched to (`tome_http::in_process`).
    pub api: Router,
    pub catalog: Catalog,
}

impl Shared {
    pub fn new(state: AppState) -> Arc<Shared> {
        let api = tome_http::in_process(state.clone());
        Arc::new(Shared {
            state,
            api,
            catalog: Catalog::build(),
        })
    }
}

/// The caller of one MCP request, as the transport established it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub caller: Caller,
    pub key_id: String,
    pub kind: KeyKind,
}

/// The management MCP server for one caller. Stateless: made per request on HTTP (the caller is
/// in the request's extensions), once for a stdio session (the caller is fixed).
#[derive(Clone)]
pub struct TomeServer {
    shared: Arc<Shared>,
    /// The caller when it does not come with each request (stdio).
    fixed: Option<Identity>,
}

impl TomeServer {
    pub fn new(shared: Arc<Shared>) -> TomeServer {
        TomeServer {
            shared,
            fixed: None,
        }
    }

    pub fn for_caller(shared: Arc<Shared>, identity: Identity) -> TomeServer {
        TomeServer {
            shared,
            fixed: Some(identity),
        }
    }

    fn identity(&self, ctx: &RequestContext<RoleServer>) -> Result<Identity, ErrorData> {
        if let Some(id) = &self.fixed {
            return Ok(id.clone());
        }
        ctx.extensions
            .get::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<Identity>())
            .cloned()
            .ok_or_else(|| ErrorData::internal_error("request without a caller", None))
    }

    fn visible<'a>(&'a self, identity: &Identity) -> impl Iterator<Item = &'a Arc<ToolDef>> {
        let kind = identity.kind;
        self.shared
            .catalog
            .tools
            .iter()
            .filter(move |t| kind == KeyKind::Admin || t.spec.audience == Audience::Docs)
    }

    /// Counts a request that reaches no REST route (a list of tools or templates) against the
    /// key's rate limit, as one REST request; a JSON-RPC error over the limit.
    async fn count(&self, identity: &Identity) -> Result<(), ErrorData> {
        let state = &self.shared.state;
        let cached = state
            .public
            .api_key(state.store.as_ref(), &identity.caller.key)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?
            .ok_or_else(|| ErrorData::invalid_request("the key is unknown or revoked", None))?;
        match tome_http::auth::count_key(state, &cached).await {
            Ok(_) => Ok(()),
            Err(refused) => {
                let answer = read(refused).await?;
                Err(ErrorData::new(
                    rmcp::model::ErrorCode(-32029),
                    "rate limit exceeded",
                    answer.body.get("error").cloned(),
                ))
            }
        }
    }

    /// A GET of the REST API as the caller; a REST error becomes a JSON-RPC error.
    async fn get(&self, identity: &Identity, uri: &str) -> Result<Value, ErrorData> {
        let Answer { status, body, .. } =
            dispatch::send(&self.shared.api, &identity.caller, Method::GET, uri, None).await?;
        if status.is_success() {
            return Ok(body);
        }
        let message = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("request failed")
            .to_string();
        let data = body.get("error").cloned();
        Err(match status.as_u16() {
            404 => ErrorData::resource_not_found(message, data),
            400 | 422 => ErrorData::invalid_params(message, data),
            _ => ErrorData::internal_error(message, data),
        })
    }

    /// A docs tool for an admin key: the documentation search or page handler, for a knowledge
    /// base of the key's project (the REST endpoints take assistant keys only; an admin key may
    /// read everything of its project anyway). Counted against the key's rate limit.
    async fn docs_as_admin(
        &self,
        identity: &Identity,
        def: &ToolDef,
        arguments: Option<JsonObject>,
    ) -> Result<rmcp::model::CallToolResult, ErrorData> {
        let state = &self.shared.state;
        let mut args = arguments.unwrap_or_default();
        // Checks the arguments and the path parameter as any call does.
        dispatch::check_shape(&def.tool, &args)?;
        dispatch::request_uri(def, &identity.caller, &args)?;
        let domain = match args.remove("domain") {
            Some(Value::String(d)) => d,
            _ => {
                return Err(ErrorData::invalid_params(
                    "argument `domain` is required",
                    None,
                ));
            }
        };
        let answer = match state
            .public
            .api_key(state.store.as_ref(), &identity.caller.key)
            .await
        {
            Ok(Some(cached)) => match tome_http::auth::count_key(state, &cached).await {
                Ok(_) => None,
                Err(resp) => Some(read(resp).await?),
            },
            _ => Some(Answer {
                status: axum::http::StatusCode::UNAUTHORIZED,
                body: json!({"error": {"code": "unauthorized", "message": "Invalid or revoked API key.", "details": {}}}),
                raw: None,
            }),
        };
        let answer = match answer {
            Some(refused) => refused,
            None => {
                let slug =
                    tome_http::docs::slug_of_domain(&domain, state.config.hosted_url.as_deref())
                        .map(str::to_string);
                let kb = match slug {
                    Some(slug) => state
                        .store
                        .kb_by_slug(&identity.caller.project_id, &slug)
                        .await
                        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?,
                    None => None,
                };
                match kb {
                    None => {
                        read(axum::response::IntoResponse::into_response(
                            tome_http::docs::kb_not_found(),
                        ))
                        .await?
                    }
                    Some(kb) => {
                        let ctx = tome_http::docs::DocsCtx {
                            project_id: identity.caller.project_id.clone(),
                            kb: Arc::new(kb),
                            caller: tome_http::docs::Caller::Key {
                                key_id: identity.key_id.clone(),
                            },
                        };
                        let resp = crate::docs::call(state, def.spec.op, ctx, args).await?;
                        read(resp).await?
                    }
                }
            }
        };
        dispatch::result_of(def, answer)
    }
}

/// A finished response, read whole.
pub async fn read(resp: axum::response::Response) -> Result<Answer, ErrorData> {
    use http_body_util::BodyExt;
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?
        .to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let raw = (!body.is_null()).then_some(bytes);
    Ok(Answer { status, body, raw })
}

/// `tome://kb/{slug}/articles/{id}` and the other resource URIs.
pub fn article_uri(slug: &str, id: &str) -> String {
    format!("tome://kb/{slug}/articles/{id}")
}

/// A `resources/list` cursor: which knowledge base, and the REST cursor within it.
fn encode_cursor(kb: usize, rest: Option<&str>) -> String {
    let raw = json!({"kb": kb, "c": rest}).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(cursor: &str) -> Option<(usize, Option<String>)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    let kb = usize::try_from(v.get("kb")?.as_u64()?).ok()?;
    Some((kb, v.get("c").and_then(Value::as_str).map(str::to_string)))
}

/// The pieces of a resource URI.
enum Uri<'a> {
    Kb(&'a str),
    Category(&'a str, &'a str),
    Article(&'a str, &'a str),
}

fn parse_uri(uri: &str) -> Option<Uri<'_>> {
    let rest = uri.strip_prefix("tome://kb/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [slug] if !slug.is_empty() => Some(Uri::Kb(slug)),
        [slug, "categories", id] if !id.is_empty() => Some(Uri::Category(slug, id)),
        [slug, "articles", id] if !id.is_empty() => Some(Uri::Article(slug, id)),
        _ => None,
    }
}

pub fn server_info(instructions: &str, prompts: bool) -> ServerConfig {
    let capabilities = if prompts {
        ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_prompts()
            .build()
    } else {
        ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .build()
    };
    ServerConfig::new(capabilities)
        .with_server_info(
            Implementation::new("tome", env!("CARGO_PKG_VERSION"))
                .with_title("Tome")
                .with_website_url("https://github.com/tome-kb/tome"),
        )
        .with_instructions(instructions)
}

const INSTRUCTIONS: &str = "Tome is a knowledge base and help centre. Content is organised as knowledge bases → categories → sections → articles (Markdown) and FAQs. Start with `list_knowledge_bases`; every other tool takes the `kb_id` it returns. Creating costs credits (knowledge base 3, category 2, section 1, article 3, FAQ 1); everything else is free. Articles are drafts until published. Errors come back as tool results with `code`, `message` and `details` (a `validation_error` names its `field`). Articles can also be read as resources (`tome://kb/{slug}/articles/{id}`).";

impl ServerHandler for TomeServer {
    fn get_info(&self) -> ServerConfig {
        server_info(INSTRUCTIONS, true)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let identity = self.identity(&ctx)?;
        self.count(&identity).await?;
        let prompts = if identity.kind == KeyKind::Admin {
            crate::prompts::list()
        } else {
            Vec::new()
        };
        Ok(ListPromptsResult::with_all_items(prompts)
            .with_ttl_ms(LIST_TTL_MS)
            .with_cache_scope(CacheScope::Public))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let identity = self.identity(&ctx)?;
        let unknown = || {
            ErrorData::invalid_params(
                format!("unknown prompt `{}`", request.name),
                Some(json!({"prompt": request.name})),
            )
        };
        if identity.kind != KeyKind::Admin {
            return Err(unknown());
        }
        let kb_id = crate::prompts::argument(&request.arguments, "kb_id")?;
        let result = match request.name.as_str() {
            "article_from_faq" => {
                let id = crate::prompts::argument(&request.arguments, "faq_id")?;
                let faq = self
                    .get(
                        &identity,
                        &format!("/v1/kb/{}/faqs/{}", enc(kb_id), enc(id)),
                    )
                    .await?;
                crate::prompts::article_from_faq(kb_id, &faq["data"])
            }
            "review_article" => {
                let id = crate::prompts::argument(&request.arguments, "article_id")?;
                let article = self
                    .get(
                        &identity,
                        &format!("/v1/kb/{}/articles/{}", enc(kb_id), enc(id)),
                    )
                    .await?;
                crate::prompts::review_article(kb_id, &article["data"])
            }
            _ => return Err(unknown()),
        };
        Ok(result.into())
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(VERSIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let identity = self.identity(&ctx)?;
        self.count(&identity).await?;
        let tools: Vec<Tool> = self.visible(&identity).map(|t| t.tool.clone()).collect();
        // The list depends on the key's kind only, and changes with a new version.
        Ok(ListToolsResult::with_all_items(tools)
            .with_ttl_ms(LIST_TTL_MS)
            .with_cache_scope(CacheScope::Private))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.shared.catalog.get(name).map(|t| t.tool.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let identity = self.identity(&ctx)?;
        let def = self
            .visible(&identity)
            .find(|t| t.spec.name == request.name)
            .cloned()
            .ok_or_else(|| {
                ErrorData::invalid_params(
                    format!("unknown tool `{}`", request.name),
                    Some(json!({"tool": request.name})),
                )
            })?;
        let result = if def.spec.audience == Audience::Docs && identity.kind == KeyKind::Admin {
            self.docs_as_admin(&identity, &def, request.arguments)
                .await?
        } else {
            dispatch::call(&self.shared.api, &identity.caller, &def, request.arguments).await?
        };
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let identity = self.identity(&ctx)?;
        if identity.kind != KeyKind::Admin {
            return Ok(ListResourcesResult::with_all_items(Vec::new()));
        }
        let (mut kb_index, mut rest) = match request.and_then(|r| r.cursor) {
            Some(c) => decode_cursor(&c)
                .ok_or_else(|| ErrorData::invalid_params("invalid cursor", None))?,
            None => (0, None),
        };
        let kbs = self.all_kbs(&identity).await?;
        let mut resources = Vec::new();
        while let Some(kb) = kbs.get(kb_index) {
            let id = kb["id"].as_str().unwrap_or_default();
            let slug = kb["slug"].as_str().unwrap_or_default();
            let mut uri =
                format!("/v1/kb/{id}/articles?status=draft,published&limit={RESOURCE_PAGE}");
            if let Some(c) = &rest {
                uri.push_str("&cursor=");
                uri.push_str(&enc(c));
            }
            let page = self.get(&identity, &uri).await?;
            for a in page["data"].as_array().into_iter().flatten() {
                let aid = a["id"].as_str().unwrap_or_default();
                let title = a["title"].as_str().unwrap_or_default();
                let mut r = Resource::new(article_uri(slug, aid), aid.to_string())
                    .with_title(title)
                    .with_mime_type("text/markdown");
                if let Some(e) = a["excerpt"].as_str().filter(|e| !e.is_empty()) {
                    r = r.with_description(e);
                }
                resources.push(r);
            }
            let next = page
                .pointer("/pagination/next_cursor")
                .and_then(Value::as_str)
                .map(str::to_string);
            match next {
                Some(c) => {
                    let mut out = ListResourcesResult::with_all_items(resources);
                    out.next_cursor = Some(encode_cursor(kb_index, Some(&c)));
                    return Ok(out);
                }
                None => {
                    kb_index += 1;
                    rest = None;
                    if resources.len() >= RESOURCE_PAGE && kb_index < kbs.len() {
                        let mut out = ListResourcesResult::with_all_items(resources);
                        out.next_cursor = Some(encode_cursor(kb_index, None));
                        return Ok(out);
                    }
                }
            }
        }
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        self.count(&self.identity(&ctx)?).await?;
        let templates = vec![
            ResourceTemplate::new("tome://kb/{slug}", "knowledge_base")
                .with_title("Knowledge base")
                .with_description("A knowledge base with its categories (JSON).")
                .with_mime_type("application/json"),
            ResourceTemplate::new("tome://kb/{slug}/categories/{id}", "category")
                .with_title("Category")
                .with_description("A category with its sections and the articles in it (JSON).")
                .with_mime_type("application/json"),
            ResourceTemplate::new("tome://kb/{slug}/articles/{id}", "article")
                .with_title("Article")
                .with_description("An article, published or draft, as Markdown.")
                .with_mime_type("text/markdown"),
        ];
        Ok(ListResourceTemplatesResult::with_all_items(templates)
            .with_ttl_ms(LIST_TTL_MS)
            .with_cache_scope(CacheScope::Public))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let identity = self.identity(&ctx)?;
        let not_found = || {
            ErrorData::resource_not_found(
                format!("no resource {}", request.uri),
                Some(json!({"uri": request.uri})),
            )
        };
        if identity.kind != KeyKind::Admin {
            return Err(not_found());
        }
        let parsed = parse_uri(&request.uri).ok_or_else(not_found)?;
        let slug = match &parsed {
            Uri::Kb(s) | Uri::Category(s, _) | Uri::Article(s, _) => *s,
        };
        let kb = self
            .shared
            .state
            .store
            .kb_by_slug(&identity.caller.project_id, slug)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?
            .ok_or_else(not_found)?;
        let contents = match parsed {
            Uri::Article(_, id) => {
                let a = self
                    .get(&identity, &format!("/v1/kb/{}/articles/{}", kb.id, enc(id)))
                    .await?;
                let a = &a["data"];
                let text = format!(
                    "# {}\n\n{}",
                    a["title"].as_str().unwrap_or_default(),
                    a["body"].as_str().unwrap_or_default().trim_start()
                );
                ResourceContents::TextResourceContents {
                    uri: request.uri.clone(),
                    mime_type: Some("text/markdown".into()),
                    text,
                    meta: None,
                }
            }
            Uri::Kb(_) => {
                let k = self.get(&identity, &format!("/v1/kb/{}", kb.id)).await?;
                let cats = self
                    .get(&identity, &format!("/v1/kb/{}/categories?limit=100", kb.id))
                    .await?;
                json_contents(
                    &request.uri,
                    json!({"knowledge_base": k["data"], "categories": cats["data"]}),
                )
            }
            Uri::Category(_, id) => {
                let c = self
                    .get(
                        &identity,
                        &format!("/v1/kb/{}/categories/{}", kb.id, enc(id)),
                    )
                    .await?;
                let sections = self
                    .get(
                        &identity,
                        &format!(
                            "/v1/kb/{}/sections?category_id={}&limit=100",
                            kb.id,
                            enc(id)
                        ),
                    )
                    .await?;
                let articles = self
                    .get(
                        &identity,
                        &format!(
                            "/v1/kb/{}/articles?category_id={}&limit=100",
                            kb.id,
                            enc(id)
                        ),
                    )
                    .await?;
                let links: Vec<Value> = articles["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        let mut a = a.clone();
                        a["uri"] = json!(article_uri(slug, a["id"].as_str().unwrap_or_default()));
                        a
                    })
                    .collect();
                json_contents(
                    &request.uri,
                    json!({"category": c["data"], "sections": sections["data"], "articles": links}),
                )
            }
        };
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

impl TomeServer {
    /// Every knowledge base of the caller's project, in the REST list's order.
    async fn all_kbs(&self, identity: &Identity) -> Result<Vec<Value>, ErrorData> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut uri = "/v1/kb?limit=100".to_string();
            if let Some(c) = &cursor {
                uri.push_str("&cursor=");
                uri.push_str(&enc(c));
            }
            let page = self.get(identity, &uri).await?;
            out.extend(page["data"].as_array().into_iter().flatten().cloned());
            cursor = page
                .pointer("/pagination/next_cursor")
                .and_then(Value::as_str)
                .map(str::to_string);
            if cursor.is_none() {
                return Ok(out);
            }
        }
    }
}

fn json_contents(uri: &str, v: Value) -> ResourceContents {
    ResourceContents::TextResourceContents {
        uri: uri.to_string(),
        mime_type: Some("application/json".into()),
        text: v.to_string(),
        meta: None,
    }
}
