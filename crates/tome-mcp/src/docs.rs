//! Documentation search and page: the handlers of `POST /v1/search/{domain}` and
//! `POST /v1/page/{domain}`, called with a context the caller's gate built — an admin key's
//! project on `/mcp`, or a public help centre on `/hc/{slug}/mcp` — and the read-only public
//! MCP server of a help centre.

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, JsonObject, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};
use tome_core::model::KnowledgeBase;
use tome_http::AppState;
use tome_http::docs::DocsCtx;
use tome_http::extract::ApiJson;
use tome_http::routes::docs as rest;

use crate::catalog::{Audience, Catalog};
use crate::dispatch;
use crate::server::{VERSIONS, read, server_info};

/// Calls the search (`docs_search`) or page (`docs_page`) handler with `args` as its body.
pub async fn call(
    state: &AppState,
    op: &str,
    ctx: DocsCtx,
    args: JsonObject,
) -> Result<Response, ErrorData> {
    let body = Value::Object(args);
    let invalid =
        |e: serde_json::Error| ErrorData::invalid_params(format!("invalid arguments: {e}"), None);
    let resp = match op {
        "docs_search" => {
            let body: rest::SearchBody = serde_json::from_value(body).map_err(invalid)?;
            rest::search(State(state.clone()), ctx, ApiJson(body)).await
        }
        _ => {
            let body: rest::PageBody = serde_json::from_value(body).map_err(invalid)?;
            rest::page(State(state.clone()), ctx, ApiJson(body)).await
        }
    };
    Ok(resp.unwrap_or_else(IntoResponse::into_response))
}

/// The help centre a public MCP request is for, put in its extensions by the gate.
#[derive(Debug, Clone)]
pub struct PublicKb {
    pub kb: Arc<KnowledgeBase>,
    /// The client's address bucket (its rate limit was counted by the gate).
    pub client: String,
}

/// The read-only MCP server of one public help centre: `search` and `get_page`, and its
/// published articles as resources. No key.
#[derive(Clone)]
pub struct PublicServer {
    state: AppState,
    tools: Arc<Vec<(Tool, &'static str)>>,
}

impl PublicServer {
    pub fn new(state: AppState, catalog: &Catalog) -> PublicServer {
        // The documentation tools' schemas, without `domain`: the help centre is the URL's.
        let mut tools = Vec::new();
        for def in catalog
            .tools
            .iter()
            .filter(|t| t.spec.audience == Audience::Docs)
        {
            let mut schema = (*def.tool.input_schema).clone();
            if let Some(Value::Object(props)) = schema.get_mut("properties") {
                props.remove("domain");
            }
            if let Some(Value::Array(req)) = schema.get_mut("required") {
                req.retain(|r| r != "domain");
            }
            let (name, description) = if def.spec.op == "docs_search" {
                (
                    "search",
                    "Search this help centre's published articles. Returns passages (one heading's worth each) best first, each with its `path` for `get_page`, its URL, title, heading and a score from 0 to 1. `pageSize` (1–50, default 10), `scoreThreshold` (0–1) and `filter.tag` narrow the results.",
                )
            } else {
                (
                    "get_page",
                    "Read one published article of this help centre as Markdown, by the `path` search returned (its URL or article ID work too).",
                )
            };
            let mut annotations = ToolAnnotations::with_title(if name == "search" {
                "Search the help centre"
            } else {
                "Read a page"
            });
            annotations.read_only_hint = Some(true);
            annotations.destructive_hint = Some(false);
            annotations.idempotent_hint = Some(true);
            annotations.open_world_hint = Some(false);
            let mut tool = def.tool.clone();
            tool.name = Cow::Borrowed(name);
            tool.description = Some(Cow::Borrowed(description));
            tool.input_schema = Arc::new(schema);
            tool.annotations = Some(annotations);
            tool.title = None;
            tools.push((tool, def.spec.op));
        }
        PublicServer {
            state,
            tools: Arc::new(tools),
        }
    }

    fn kb(ctx: &RequestContext<RoleServer>) -> Result<PublicKb, ErrorData> {
        ctx.extensions
            .get::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<PublicKb>())
            .cloned()
            .ok_or_else(|| ErrorData::internal_error("request without a help centre", None))
    }

    fn docs_ctx(public: &PublicKb) -> DocsCtx {
        DocsCtx {
            project_id: public.kb.project_id.clone(),
            kb: public.kb.clone(),
            caller: tome_http::docs::Caller::Site {
                client: public.client.clone(),
            },
        }
    }
}

const INSTRUCTIONS: &str = "A public help centre served by Tome. `search` finds passages of its published articles; `get_page` reads a whole article as Markdown by the `path` search returns. Articles are also listed as resources.";

impl ServerHandler for PublicServer {
    fn get_info(&self) -> ServerConfig {
        server_info(INSTRUCTIONS)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(VERSIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = self.tools.iter().map(|(t, _)| t.clone()).collect();
        Ok(ListToolsResult::with_all_items(tools)
            .with_ttl_ms(300_000)
            .with_cache_scope(CacheScope::Public))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let public = Self::kb(&ctx)?;
        let Some((tool, op)) = self.tools.iter().find(|(t, _)| t.name == request.name) else {
            return Err(ErrorData::invalid_params(
                format!("unknown tool `{}`", request.name),
                Some(json!({"tool": request.name})),
            ));
        };
        let args = request.arguments.unwrap_or_default();
        let props = tool
            .input_schema
            .get("properties")
            .and_then(Value::as_object);
        if let Some(unknown) = args
            .keys()
            .find(|k| !props.is_some_and(|p| p.contains_key(k.as_str())))
        {
            return Err(ErrorData::invalid_params(
                format!("unknown argument `{unknown}` for tool `{}`", request.name),
                Some(json!({"field": unknown})),
            ));
        }
        dispatch::check_types(&tool.input_schema, &args)?;
        let resp = call(&self.state, op, Self::docs_ctx(&public), args).await?;
        let answer = read(resp).await?;
        let output = if *op == "docs_search" {
            crate::catalog::Output::Results
        } else {
            crate::catalog::Output::Whole
        };
        Ok(dispatch::result_with(&request.name, output, answer)?.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let public = Self::kb(&ctx)?;
        let generation = self.state.public.kb_generation(&public.kb.id);
        let tree = self
            .state
            .public
            .tree(self.state.store.as_ref(), &public.kb.id, generation)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let root = rest::hosted_root(&self.state, &public.kb);
        let resources = tree
            .articles
            .iter()
            .map(|a| {
                let mut r = Resource::new(
                    format!("{root}{}", rest::article_path(&a.id, &a.title)),
                    a.id.clone(),
                )
                .with_title(a.title.clone())
                .with_mime_type("text/markdown");
                if let Some(e) = a.excerpt.as_deref().filter(|e| !e.is_empty()) {
                    r = r.with_description(e);
                }
                r
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources)
            .with_ttl_ms(60_000)
            .with_cache_scope(CacheScope::Public))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let public = Self::kb(&ctx)?;
        let root = rest::hosted_root(&self.state, &public.kb);
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(format!("{root}/articles/{{path}}"), "article")
                .with_title("Article")
                .with_description("A published article of this help centre, as Markdown.")
                .with_mime_type("text/markdown"),
        ])
        .with_ttl_ms(300_000)
        .with_cache_scope(CacheScope::Public))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let public = Self::kb(&ctx)?;
        let root = rest::hosted_root(&self.state, &public.kb);
        let not_found = || {
            ErrorData::resource_not_found(
                format!("no published page {}", request.uri),
                Some(json!({"uri": request.uri})),
            )
        };
        if !request.uri.starts_with(&format!("{root}/")) {
            return Err(not_found());
        }
        let mut args = JsonObject::new();
        args.insert("path".into(), json!(request.uri));
        let resp = call(&self.state, "docs_page", Self::docs_ctx(&public), args).await?;
        let answer = read(resp).await?;
        if !answer.status.is_success() {
            return Err(not_found());
        }
        let text = answer.body["content"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Ok(
            ReadResourceResult::new(vec![ResourceContents::TextResourceContents {
                uri: request.uri.clone(),
                mime_type: Some("text/markdown".into()),
                text,
                meta: None,
            }])
            .into(),
        )
    }
}
