//! The tools: one per management operation, built from the OpenAPI document.
//!
//! The document is the single source of truth for what an operation takes and returns: its path
//! and query parameters with their rules (`tome_http::extract::query_schema`) and its request body
//! (`tome_core::input::schema`, built from the same `validate` constants the handlers check). A
//! tool's `inputSchema` is those merged into one object; its `outputSchema` is the success
//! response's schema (the `data` of the REST envelope, or the whole body where the REST answer has
//! no envelope). [`SPECS`] adds what the document cannot say: the tool's name in one scheme
//! (`verb_noun`), its hints, and what a model needs to know before calling it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::Method;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

/// How a tool changes things, for its annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads only.
    Read,
    /// Adds something new; calling it twice adds two.
    Create,
    /// Overwrites what is there; calling it twice is calling it once.
    Update,
    /// Removes or hides something; calling it twice is calling it once.
    Remove,
    /// Changes state without losing anything (publish); idempotent.
    Transition,
    /// Replaces something with a new value each call (a rotated key, a queued update).
    Rotate,
}

/// Who may call a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Admin keys.
    Admin,
    /// Admin and assistant keys: the documentation search and page, read-only.
    Docs,
}

/// What the catalog adds to an operation of the document.
pub struct Spec {
    /// The operation's `operationId` in the OpenAPI document.
    pub op: &'static str,
    /// The tool's name.
    pub name: &'static str,
    pub effect: Effect,
    pub audience: Audience,
    /// What to know before calling it: where its IDs come from, what it costs.
    pub guide: &'static str,
}

const KB: &str = "`kb_id` (kb_…) comes from `list_knowledge_bases`.";

/// Every tool, in the order `tools/list` gives them.
pub const SPECS: &[Spec] = &[
    spec(
        "list_kbs",
        "list_knowledge_bases",
        Effect::Read,
        "Start here: the knowledge bases' IDs are what every other tool needs. Free.",
    ),
    spec("get_kb", "get_knowledge_base", Effect::Read, KB),
    spec(
        "create_kb",
        "create_knowledge_base",
        Effect::Create,
        "Costs 3 credits. The slug names its public help centre and API. The site key in the result is shown only this once.",
    ),
    spec(
        "update_kb",
        "update_knowledge_base",
        Effect::Update,
        "Free. Send only the fields to change.",
    ),
    spec(
        "delete_kb",
        "delete_knowledge_base",
        Effect::Remove,
        "Free, and cannot be undone: every category, section, article and FAQ of the knowledge base goes with it.",
    ),
    spec("list_categories", "list_categories", Effect::Read, KB),
    spec("get_category", "get_category", Effect::Read, KB),
    spec(
        "create_category",
        "create_category",
        Effect::Create,
        "Costs 2 credits. Articles and sections live in categories, so create one before them.",
    ),
    spec(
        "update_category",
        "update_category",
        Effect::Update,
        "Free. `sort_order` reorders categories.",
    ),
    spec(
        "delete_category",
        "delete_category",
        Effect::Remove,
        "Free, and cannot be undone: its sections, articles and FAQs go with it.",
    ),
    spec(
        "list_sections",
        "list_sections",
        Effect::Read,
        "Free. `category_id` narrows the list to one category.",
    ),
    spec("get_section", "get_section", Effect::Read, KB),
    spec(
        "create_section",
        "create_section",
        Effect::Create,
        "Costs 1 credit. Needs a `category_id` from `list_categories`.",
    ),
    spec(
        "update_section",
        "update_section",
        Effect::Update,
        "Free. A new `category_id` moves the section with its articles and FAQs.",
    ),
    spec(
        "delete_section",
        "delete_section",
        Effect::Remove,
        "Free. Its articles and FAQs stay in the category.",
    ),
    spec(
        "list_articles",
        "list_articles",
        Effect::Read,
        "Free. Filters: `category_id`, `section_id`, `status` (comma-separated), `tag`; pages through `cursor`. Bodies are left out: `get_article` reads one.",
    ),
    spec(
        "get_article",
        "get_article",
        Effect::Read,
        "Free. `id` (kba_…) comes from `list_articles` or `search_articles`.",
    ),
    spec(
        "create_article",
        "create_article",
        Effect::Create,
        "Costs 3 credits. Needs a `category_id` (and optionally a `section_id` of that category). The body is Markdown. Created as a draft unless `status` is `published`.",
    ),
    spec(
        "bulk_create_articles",
        "bulk_create_articles",
        Effect::Create,
        "Costs 3 credits per article; up to 20 in one call, all or nothing.",
    ),
    spec(
        "update_article",
        "update_article",
        Effect::Update,
        "Free. Send only the fields to change.",
    ),
    spec(
        "bulk_update_articles",
        "bulk_update_articles",
        Effect::Update,
        "Free. Up to 20 articles, each naming its `id`; all or nothing.",
    ),
    spec(
        "publish_article",
        "publish_article",
        Effect::Transition,
        "Free. Makes the article public on the help centre and the public API.",
    ),
    spec(
        "archive_article",
        "archive_article",
        Effect::Remove,
        "Free. Takes the article off the help centre; `publish_article` brings it back.",
    ),
    spec(
        "delete_article",
        "delete_article",
        Effect::Remove,
        "Free, and cannot be undone.",
    ),
    spec("list_faqs", "list_faqs", Effect::Read, KB),
    spec("get_faq", "get_faq", Effect::Read, KB),
    spec(
        "create_faq",
        "create_faq",
        Effect::Create,
        "Costs 1 credit. Needs a `category_id` from `list_categories`.",
    ),
    spec("update_faq", "update_faq", Effect::Update, "Free."),
    spec(
        "publish_faq",
        "publish_faq",
        Effect::Transition,
        "Free. Makes the FAQ public.",
    ),
    spec(
        "delete_faq",
        "delete_faq",
        Effect::Remove,
        "Free, and cannot be undone.",
    ),
    spec(
        "search",
        "search_articles",
        Effect::Read,
        "Free. Searches drafts too unless `status` says otherwise; `q` is the query.",
    ),
    spec(
        "get_site_key",
        "get_site_key",
        Effect::Read,
        "Free. Never shows the key itself.",
    ),
    spec(
        "update_site_key",
        "update_site_key",
        Effect::Update,
        "Free. Sets the public API's per-key rate limit.",
    ),
    spec(
        "revoke_site_key",
        "revoke_site_key",
        Effect::Rotate,
        "Free. The old key stops working at once; the new one is shown only in this result. Sites using the old key break until updated.",
    ),
    spec("get_project", "get_project", Effect::Read, "Free."),
    spec(
        "update_project",
        "update_project",
        Effect::Update,
        "Free. `allowed_domains` are the web origins that may use every knowledge base's site key.",
    ),
    spec(
        "get_usage",
        "get_usage",
        Effect::Read,
        "Free. This month's credits by action against the monthly cap.",
    ),
    spec("get_source", "get_source", Effect::Read, KB),
    spec(
        "put_source",
        "set_source",
        Effect::Update,
        "Free. From then on the knowledge base's content is written by updates from the source: content tools answer `source_managed` for it.",
    ),
    spec(
        "delete_source",
        "delete_source",
        Effect::Remove,
        "Free. The content stays and becomes editable again.",
    ),
    spec(
        "trigger_update",
        "trigger_update",
        Effect::Rotate,
        "Free. `projectId` defaults to the key's project. Returns a `statusId` for `get_update_status`.",
    ),
    spec(
        "update_status",
        "get_update_status",
        Effect::Read,
        "Free. `statusId` comes from `trigger_update` or `list_updates`.",
    ),
    spec("list_updates", "list_updates", Effect::Read, "Free."),
    spec(
        "assistant_conversations",
        "list_assistant_conversations",
        Effect::Read,
        "Free. `projectId` defaults to the key's project.",
    ),
    spec(
        "assistant_thread",
        "get_assistant_thread",
        Effect::Read,
        "Free. `threadId` (thr_…) comes from `list_assistant_conversations`; `projectId` defaults to the key's project.",
    ),
    Spec {
        op: "docs_search",
        name: "search_docs",
        effect: Effect::Read,
        audience: Audience::Docs,
        guide: "Free. `domain` is the knowledge base's slug. Returns passages of published articles with their `path` for `get_page`.",
    },
    Spec {
        op: "docs_page",
        name: "get_page",
        effect: Effect::Read,
        audience: Audience::Docs,
        guide: "Free. `domain` is the knowledge base's slug; `path` comes from `search_docs`.",
    },
];

const fn spec(op: &'static str, name: &'static str, effect: Effect, guide: &'static str) -> Spec {
    Spec {
        op,
        name,
        effect,
        audience: Audience::Admin,
        guide,
    }
}

/// The tool that moves an article: `update_article` restricted to where the article sits.
pub const MOVE_ARTICLE: &str = "move_article";
/// The fields of `update_article` that [`MOVE_ARTICLE`] takes.
const MOVE_FIELDS: &[&str] = &["category_id", "section_id", "sort_order"];

/// What the success result holds, to turn the REST answer into `structuredContent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `{"data": …}`: the `data`.
    Data,
    /// `{"data": [...], "pagination": {...}}`, or a body without an envelope: all of it.
    Whole,
    /// A bare array: `{"results": [...]}` (a tool's structured result is an object).
    Results,
    /// 204, no body: `{"deleted": true}`.
    Deleted,
}

/// Where an argument goes in the REST request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Path,
    Query,
    Body,
}

/// One tool, ready to list and to call.
pub struct ToolDef {
    pub spec: &'static Spec,
    pub method: Method,
    /// The path template (`/v1/kb/{kb_id}/articles/{id}`).
    pub path: String,
    /// Every argument by name, with where it goes.
    pub args: HashMap<String, Place>,
    /// The path parameter that defaults to the caller's project, if any.
    pub project_param: Option<String>,
    pub has_body: bool,
    /// The body fields allowed (a tool that narrows an operation, like `move_article`).
    pub only_body: Option<&'static [&'static str]>,
    pub output: Output,
    pub tool: Tool,
}

/// Every tool, by name.
pub struct Catalog {
    pub tools: Vec<Arc<ToolDef>>,
    by_name: HashMap<String, Arc<ToolDef>>,
}

impl Catalog {
    /// Builds the catalog from the OpenAPI document Tome serves.
    pub fn build() -> Catalog {
        let doc: Value = serde_json::from_str(&tome_http::openapi::document()).unwrap_or_default();
        Catalog::from_document(&doc)
    }

    pub fn from_document(doc: &Value) -> Catalog {
        let schemas = doc
            .pointer("/components/schemas")
            .cloned()
            .unwrap_or_default();
        let mut ops: HashMap<&str, (Method, &str, &Value)> = HashMap::new();
        if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                let Some(item) = item.as_object() else {
                    continue;
                };
                for (m, op) in item {
                    let Ok(method) = m.to_ascii_uppercase().parse::<Method>() else {
                        continue;
                    };
                    if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                        ops.insert(id, (method, path.as_str(), op));
                    }
                }
            }
        }
        let mut tools = Vec::new();
        for spec in SPECS {
            let Some((method, path, op)) = ops.get(spec.op) else {
                tracing::error!(operation = spec.op, "MCP tool without its operation");
                continue;
            };
            tools.push(Arc::new(tool_def(
                spec,
                method.clone(),
                path,
                op,
                &schemas,
                None,
            )));
            if spec.op == "update_article" {
                tools.push(Arc::new(tool_def(
                    &MOVE_SPEC,
                    method.clone(),
                    path,
                    op,
                    &schemas,
                    Some(MOVE_FIELDS),
                )));
            }
        }
        let by_name = tools
            .iter()
            .map(|t| (t.spec.name.to_string(), t.clone()))
            .collect();
        Catalog { tools, by_name }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<ToolDef>> {
        self.by_name.get(name)
    }
}

static MOVE_SPEC: Spec = Spec {
    op: "update_article",
    name: MOVE_ARTICLE,
    effect: Effect::Update,
    audience: Audience::Admin,
    guide: "Free. Moves an article to another category or section (`section_id: null` takes it out of its section), or to another place in the order (`sort_order`). The same as `update_article` with only these fields.",
};

fn tool_def(
    spec: &'static Spec,
    method: Method,
    path: &str,
    op: &Value,
    schemas: &Value,
    only_body: Option<&'static [&'static str]>,
) -> ToolDef {
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut args = HashMap::new();
    let mut project_param = None;
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(name), Some(place)) = (p["name"].as_str(), p["in"].as_str()) else {
            continue;
        };
        let place = match place {
            "path" => Place::Path,
            "query" => Place::Query,
            _ => continue,
        };
        let mut schema = inline(p.get("schema").unwrap_or(&json!({})), schemas);
        if schema.get("type").is_none() && place == Place::Path {
            schema["type"] = json!("string");
        }
        if let Some(d) = p.get("description").and_then(Value::as_str) {
            schema["description"] = json!(d);
        } else if place == Place::Path {
            schema["description"] = json!(path_description(name));
        }
        let is_project = place == Place::Path && (name == "projectId" || name == "project_id");
        if is_project {
            project_param = Some(name.to_string());
            schema["description"] =
                json!("The project's ID (prj_…); defaults to the key's own project.");
        } else if place == Place::Path || p["required"] == json!(true) {
            required.push(json!(name));
        }
        properties.insert(name.to_string(), schema);
        args.insert(name.to_string(), place);
    }
    let body = op
        .pointer("/requestBody/content/application~1json/schema")
        .map(|s| inline(s, schemas));
    let has_body = body.is_some();
    if let Some(body) = body {
        if let Some(props) = body.get("properties").and_then(Value::as_object) {
            for (name, schema) in props {
                if only_body.is_some_and(|only| !only.contains(&name.as_str())) {
                    continue;
                }
                if args.contains_key(name) {
                    tracing::error!(tool = spec.name, field = %name, "body field shadows a parameter");
                    continue;
                }
                properties.insert(name.clone(), schema.clone());
                args.insert(name.clone(), Place::Body);
            }
        }
        if only_body.is_none() {
            for r in body
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                required.push(r.clone());
            }
        }
    }
    let mut input =
        json!({"type": "object", "properties": properties, "additionalProperties": false});
    if !required.is_empty() {
        input["required"] = Value::Array(required);
    }
    if only_body.is_some() {
        input["minProperties"] = json!(3);
    }

    let (output, success_schema) = output_of(op, schemas);
    let output_schema = admitting_errors(success_schema, schemas);
    let summary = op
        .get("summary")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let details = op
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut description = if only_body.is_some() {
        "Move an article.".to_string()
    } else {
        summary.replace('\n', " ")
    };
    if !details.is_empty() && only_body.is_none() {
        description.push(' ');
        description.push_str(&details.replace('\n', " "));
    }
    description.push_str("\n\n");
    description.push_str(spec.guide);
    let (read_only, destructive, idempotent) = match spec.effect {
        Effect::Read => (true, false, true),
        Effect::Create => (false, false, false),
        Effect::Update => (false, true, true),
        Effect::Remove => (false, true, true),
        Effect::Transition => (false, false, true),
        Effect::Rotate => (false, true, false),
    };
    let title = title_of(spec.name);
    let mut annotations = ToolAnnotations::with_title(title.clone());
    annotations.read_only_hint = Some(read_only);
    annotations.destructive_hint = Some(destructive);
    annotations.idempotent_hint = Some(idempotent);
    annotations.open_world_hint = Some(false);
    let tool = Tool::new(spec.name, description, object(input))
        .with_title(title)
        .with_raw_output_schema(Arc::new(object(output_schema)))
        .with_annotations(annotations);
    ToolDef {
        spec,
        method,
        path: path.to_string(),
        args,
        project_param,
        has_body,
        only_body,
        output,
        tool,
    }
}

/// `list_knowledge_bases` → `List knowledge bases`.
fn title_of(name: &str) -> String {
    let mut t = name.replace('_', " ");
    if let Some(first) = t.get(..1) {
        let upper = first.to_ascii_uppercase();
        t.replace_range(..1, &upper);
    }
    t
}

fn path_description(name: &str) -> &'static str {
    match name {
        "kb_id" => "The knowledge base's ID (kb_…).",
        "id" => "The ID of the item this tool reads or changes.",
        "domain" => "The knowledge base's slug.",
        "statusId" => "The update's ID, from `trigger_update` or `list_updates`.",
        "threadId" => "The conversation's ID (thr_…).",
        _ => "A path parameter of the REST operation.",
    }
}

/// The success response's schema and how the result maps onto it. The schema is always an
/// object schema (`"type": "object"` at the top), as MCP's `Tool.outputSchema` must be: clients
/// that check tool definitions (the TypeScript SDK) refuse a `tools/list` with any other.
fn output_of(op: &Value, schemas: &Value) -> (Output, Value) {
    let (output, mut schema) = output_schema(op, schemas);
    if let Value::Object(map) = &mut schema
        && map.get("type").is_none()
    {
        // A composition of object schemas (`allOf` of a KB's fields and its list counts): the
        // result is an object all the same.
        map.insert("type".into(), json!("object"));
    }
    (output, schema)
}

fn output_schema(op: &Value, schemas: &Value) -> (Output, Value) {
    let responses = op.get("responses").and_then(Value::as_object);
    let success = responses.and_then(|r| {
        r.iter()
            .filter(|(code, _)| code.starts_with('2'))
            .min_by_key(|(code, _)| code.as_str())
            .map(|(code, v)| (code.clone(), v.clone()))
    });
    let Some((code, response)) = success else {
        return (Output::Whole, json!({"type": "object"}));
    };
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        let _ = code;
        return (
            Output::Deleted,
            json!({"type": "object", "required": ["deleted"], "properties": {"deleted": {"const": true}}}),
        );
    };
    let schema = inline(schema, schemas);
    if schema["type"] == "array" {
        return (
            Output::Results,
            json!({"type": "object", "required": ["results"], "properties": {"results": schema}}),
        );
    }
    let props = schema.get("properties").and_then(Value::as_object);
    let enveloped = props.is_some_and(|p| p.contains_key("data") && !p.contains_key("pagination"));
    if enveloped {
        let data = schema["properties"]["data"].clone();
        if data["type"] == "array" {
            return (
                Output::Whole,
                json!({"type": "object", "required": ["data"], "properties": {"data": data}}),
            );
        }
        return (Output::Data, object_rooted(data));
    }
    (Output::Whole, schema)
}

/// The `outputSchema` of a tool whose success result is `success`. A tool error's
/// `structuredContent` is the REST error object (`{code, message, details}`), and clients check
/// every `structuredContent` against the `outputSchema`, an error's too: the v1 TypeScript SDK's
/// `callTool` (1.32) and the MCP Inspector's CLI (2.12) turn an error result that does not match it
/// into a protocol error, hiding the code and message (the spec's "servers MUST provide structured
/// results that conform to this schema" makes no exception for errors). So the schema admits both.
fn admitting_errors(success: Value, schemas: &Value) -> Value {
    let error = inline(
        &json!({"$ref": "#/components/schemas/ErrorObject"}),
        schemas,
    );
    json!({
        "type": "object",
        "anyOf": [success, error],
    })
}

/// An `outputSchema` must say `"type": "object"` at its root: rmcp drops any other from
/// `tools/list` (and clients would ignore it). A `data` schema built as an `allOf` of objects
/// (`KbResponse`: its list-only counts and its fields) says so only in its parts; say it at the
/// root too.
fn object_rooted(mut schema: Value) -> Value {
    let all_objects = schema
        .get("allOf")
        .and_then(Value::as_array)
        .is_some_and(|parts| parts.iter().all(|p| p["type"] == "object"));
    if schema.get("type").is_none() && all_objects {
        schema["type"] = json!("object");
    }
    schema
}

/// The schema with every `$ref` to `#/components/schemas/…` replaced by its target.
fn inline(schema: &Value, schemas: &Value) -> Value {
    inline_depth(schema, schemas, 0)
}

fn inline_depth(schema: &Value, schemas: &Value, depth: usize) -> Value {
    if depth > 32 {
        return json!({});
    }
    match schema {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                let name = r.rsplit('/').next().unwrap_or_default();
                let target = schemas.get(name).cloned().unwrap_or_else(|| json!({}));
                let mut out = inline_depth(&target, schemas, depth + 1);
                // Siblings of `$ref` (a description, say) stay.
                if let Value::Object(out_map) = &mut out {
                    for (k, v) in map.iter().filter(|(k, _)| k.as_str() != "$ref") {
                        out_map.insert(k.clone(), inline_depth(v, schemas, depth + 1));
                    }
                }
                return out;
            }
            Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), inline_depth(v, schemas, depth + 1)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| inline_depth(v, schemas, depth + 1))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn object(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        _ => JsonObject::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_an_object_output_schema() {
        let catalog = Catalog::build();
        assert_eq!(
            catalog.tools.len(),
            SPECS.len() + 1,
            "every operation, and move_article"
        );
        for def in &catalog.tools {
            assert_eq!(
                def.tool.input_schema.get("type"),
                Some(&json!("object")),
                "{}",
                def.spec.name
            );
            let schema = def.tool.output_schema.as_deref();
            let schema = schema.expect("an outputSchema");
            assert_eq!(
                schema.get("type"),
                Some(&json!("object")),
                "{}",
                def.spec.name
            );
            let [success, error] = schema["anyOf"].as_array().expect("anyOf").as_slice() else {
                panic!("{}: anyOf of two", def.spec.name);
            };
            assert_eq!(success["type"], "object", "{}: {success}", def.spec.name);
            assert_eq!(
                error["required"],
                json!(["code", "message", "details"]),
                "{}: the error object",
                def.spec.name
            );
        }
    }
}
