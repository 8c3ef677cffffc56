//! A tool call as the REST request it stands for, answered by the REST router in process.
//!
//! The arguments are put where the operation takes them (path, query, JSON body) and the request
//! goes through the very router `tome serve` answers HTTP with — `tower::ServiceExt::oneshot`, no
//! socket — so a tool has the REST handler's behaviour by construction: the key check and its rate
//! limit, `source_managed`, validation, credits, and the cache and search catch-up before the
//! answer. The answer becomes the tool result: success → `structuredContent` (the REST `data`) and
//! a short text; an error envelope → a tool error carrying `code`/`message`/`details`. Arguments
//! that do not match the tool's schema (an unknown name, a missing path parameter, a wrong JSON
//! type) never reach the router: they are a JSON-RPC invalid-params error naming the field, as
//! MCP wants for arguments that do not match the schema.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use http_body_util::BodyExt;
use rmcp::ErrorData;
use rmcp::model::{CallToolResult, ContentBlock as Content, JsonObject};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use crate::catalog::{Output, Place, ToolDef};

/// Who calls: the bearer key the MCP request carried, its project and the client's address.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: String,
    pub project_id: String,
    pub peer: Option<SocketAddr>,
}

/// An HTTP answer of the router, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    /// The body as it was written, when it was JSON: the text of a tool result quotes it rather
    /// than writing `body` out again.
    pub raw: Option<Bytes>,
}

/// Sends one request through the router as `caller`.
pub async fn send(
    router: &Router,
    caller: &Caller,
    method: axum::http::Method,
    uri: &str,
    body: Option<&Value>,
) -> Result<Answer, ErrorData> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {}", caller.key)) {
        req = req.header(header::AUTHORIZATION, v);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    let mut req = req.map_err(|e| ErrorData::invalid_params(format!("bad request: {e}"), None))?;
    if let Some(peer) = caller.peer {
        req.extensions_mut().insert(ConnectInfo(peer));
    }
    let resp = router
        .clone()
        .oneshot(req)
        .await
        .map_err(|e| ErrorData::internal_error(format!("{e}"), None))?;
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| ErrorData::internal_error(format!("reading the answer: {e}"), None))?
        .to_bytes();
    if bytes.is_empty() {
        return Ok(Answer {
            status,
            body: Value::Null,
            raw: None,
        });
    }
    Ok(match serde_json::from_slice(&bytes) {
        Ok(body) => Answer {
            status,
            body,
            raw: Some(bytes),
        },
        Err(_) => Answer {
            status,
            body: json!(String::from_utf8_lossy(&bytes)),
            raw: None,
        },
    })
}

/// Calls a tool.
pub async fn call(
    router: &Router,
    caller: &Caller,
    def: &ToolDef,
    arguments: Option<JsonObject>,
) -> Result<CallToolResult, ErrorData> {
    let arguments = arguments.unwrap_or_default();
    check_shape(&def.tool, &arguments)?;
    let uri = request_uri(def, caller, &arguments)?;
    let body = def.has_body.then(|| {
        Value::Object(
            arguments
                .iter()
                .filter(|(k, _)| def.args.get(k.as_str()) == Some(&Place::Body))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map<_, _>>(),
        )
    });
    let answer = send(router, caller, def.method.clone(), &uri, body.as_ref()).await?;
    result_of(def, answer)
}

/// Checks the arguments' shape against the tool's `inputSchema`: every required argument
/// present, each argument of a JSON type its schema allows, enough of them. A mismatch is a
/// protocol error (JSON-RPC `-32602` naming the field), as MCP asks for arguments that do not
/// match the schema; the rules within a type — lengths, patterns, ranges, enums, references — are
/// the REST validation's, answered as tool errors naming the field, exactly as REST answers 422.
pub fn check_shape(tool: &rmcp::model::Tool, args: &JsonObject) -> Result<(), ErrorData> {
    let schema = &tool.input_schema;
    let mismatch = |field: &str, reason: String| {
        ErrorData::invalid_params(
            format!("argument `{field}` {reason}"),
            Some(json!({"field": field, "reason": reason})),
        )
    };
    for required in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !args.contains_key(required) {
            return Err(mismatch(required, "is required".into()));
        }
    }
    let props = schema.get("properties").and_then(Value::as_object);
    for (name, value) in args {
        let Some(prop) = props.and_then(|p| p.get(name)) else {
            return Err(mismatch(
                name,
                format!("is not an argument of `{}`", tool.name),
            ));
        };
        check_type(prop, value, name)?;
    }
    if let Some(min) = schema.get("minProperties").and_then(Value::as_u64)
        && (args.len() as u64) < min
    {
        return Err(ErrorData::invalid_params(
            format!("`{}` needs at least {min} arguments", tool.name),
            None,
        ));
    }
    Ok(())
}

/// The request target: the path with its parameters, then the query string.
pub fn request_uri(def: &ToolDef, caller: &Caller, args: &JsonObject) -> Result<String, ErrorData> {
    for (name, value) in args {
        let Some(place) = def.args.get(name) else {
            return Err(ErrorData::invalid_params(
                format!("unknown argument `{name}` for tool `{}`", def.spec.name),
                Some(json!({"field": name})),
            ));
        };
        // A null path or query parameter is an absent one (below); a body field's null is the
        // operation's to judge.
        if value.is_null() && *place != Place::Body {
            continue;
        }
        if let Some(schema) = def
            .tool
            .input_schema
            .get("properties")
            .and_then(|p| p.get(name))
        {
            check_type(schema, value, name)?;
        }
    }
    let mut path = String::with_capacity(def.path.len() + 32);
    let mut rest = def.path.as_str();
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        let value = match args.get(name) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            None | Some(Value::Null) if def.project_param.as_deref() == Some(name) => {
                caller.project_id.clone()
            }
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return Err(ErrorData::invalid_params(
                    format!("argument `{name}` is required"),
                    Some(json!({"field": name})),
                ));
            }
            Some(_) => {
                return Err(ErrorData::invalid_params(
                    format!("argument `{name}` must be a string"),
                    Some(json!({"field": name})),
                ));
            }
        };
        path.push_str(&encode(&value));
        rest = &rest[open + close + 1..];
    }
    path.push_str(rest);
    let mut query = String::new();
    for (name, value) in args {
        if def.args.get(name.as_str()) != Some(&Place::Query) {
            continue;
        }
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            Value::Object(_) => {
                return Err(ErrorData::invalid_params(
                    format!("argument `{name}` must not be an object"),
                    Some(json!({"field": name})),
                ));
            }
        };
        query.push(if query.is_empty() { '?' } else { '&' });
        query.push_str(&encode(name));
        query.push('=');
        query.push_str(&encode(&text));
    }
    Ok(path + &query)
}

/// Checks that `value` has a JSON type `schema` allows, and so do its items and known fields.
///
/// An argument of the wrong type does not match the tool's schema: a protocol error (JSON-RPC
/// invalid params naming the field), as MCP has it for arguments that do not match the schema —
/// and not something the REST layer should see, where a wrong type is a 422 like any invalid
/// value. Only types are checked: lengths, patterns, enums and required fields are the REST
/// validation's, whose 422 is a tool error naming the field.
pub fn check_type(schema: &Value, value: &Value, path: &str) -> Result<(), ErrorData> {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        // No type: anything goes.
        _ => return Ok(()),
    };
    if !types.iter().any(|t| type_matches(t, value)) {
        let expected = types
            .iter()
            .map(|t| match *t {
                "integer" => "an integer",
                "array" => "an array",
                "object" => "an object",
                "null" => "null",
                "boolean" => "a boolean",
                "number" => "a number",
                _ => "a string",
            })
            .collect::<Vec<_>>()
            .join(" or ");
        return Err(ErrorData::invalid_params(
            format!("argument `{path}` must be {expected}"),
            Some(json!({"field": path, "expected": types})),
        ));
    }
    match value {
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    check_type(item, v, &format!("{path}[{i}]"))?;
                }
            }
        }
        Value::Object(fields) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, v) in fields {
                    if let Some(s) = props.get(k) {
                        check_type(s, v, &format!("{path}.{k}"))?;
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "number" => v.is_number(),
        // JSON has one number type: 200.0 is the integer 200 (as the REST layer reads it).
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => true,
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The tool result of a REST answer.
pub fn result_of(def: &ToolDef, answer: Answer) -> Result<CallToolResult, ErrorData> {
    result_with(def.spec.name, def.output, answer)
}

/// The tool result of a REST answer, for tool `tool` whose success result is `output`.
pub fn result_with(
    tool: &str,
    output: Output,
    answer: Answer,
) -> Result<CallToolResult, ErrorData> {
    let Answer { status, body, raw } = answer;
    if status.is_success() {
        // The JSON of the text is the REST body's own bytes where they hold exactly the
        // structured result (the `data` of a lone `{"data": …}` envelope, or all of a whole
        // body), else the structured result written out.
        let raw = raw.as_deref().and_then(|r| std::str::from_utf8(r).ok());
        let (structured, quoted) = match output {
            Output::Data => match body {
                Value::Object(mut envelope) if envelope.contains_key("data") => {
                    let lone = envelope.len() == 1;
                    let data = envelope.remove("data").unwrap_or_default();
                    let inner = raw
                        .filter(|_| lone)
                        .and_then(|r| r.strip_prefix("{\"data\":")?.strip_suffix('}'));
                    (data, inner)
                }
                other => (other, raw),
            },
            Output::Whole => (body, raw),
            Output::Results => (json!({"results": body}), None),
            Output::Deleted => (json!({"deleted": true}), None),
        };
        let summary = summarize(tool, &structured);
        let text = match quoted {
            Some(json) => format!("{summary}\n\n{json}"),
            None => format!("{summary}\n\n{structured}"),
        };
        let mut result = CallToolResult::success(vec![Content::text(text)]);
        result.structured_content = Some(structured);
        return Ok(result);
    }
    // Every REST error is the tool's error, a 400 too: arguments that do not match the schema
    // never get here (`check_shape`), so a 400 is the operation refusing what it was asked (a
    // project that is not the key's, no knowledge base with a source, a stale cursor), which
    // the model should see and act on like any other error.
    let error = body.get("error").cloned().unwrap_or_else(
        || json!({"code": "internal_error", "message": format!("HTTP {status}"), "details": {}}),
    );
    let code = error["code"].as_str().unwrap_or("error").to_string();
    let message = error["message"].as_str().unwrap_or_default().to_string();
    let mut result = CallToolResult::error(vec![Content::text(format!("{code}: {message}"))]);
    result.structured_content = Some(error);
    Ok(result)
}

/// One line a person (or a model skimming) reads: what came back.
fn summarize(tool: &str, v: &Value) -> String {
    if v.get("deleted") == Some(&Value::Bool(true)) {
        return format!("{tool}: deleted.");
    }
    if let Some(items) = v
        .get("data")
        .or_else(|| v.get("results"))
        .and_then(Value::as_array)
    {
        let more = v
            .pointer("/pagination/has_more")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut line = format!("{tool}: {} item(s)", items.len());
        for item in items.iter().take(20) {
            line.push_str("\n- ");
            line.push_str(&label(item));
        }
        if let Some(c) = v
            .pointer("/pagination/next_cursor")
            .and_then(Value::as_str)
            .filter(|_| more)
        {
            line.push_str(&format!("\nMore: pass cursor \"{c}\"."));
        }
        return line;
    }
    format!("{tool}: {}", label(v))
}

/// `kba_… "Title" (published)`.
fn label(v: &Value) -> String {
    let id = v
        .get("id")
        .or_else(|| v.get("statusId"))
        .or_else(|| v.pointer("/metadata/article_id"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = ["title", "name", "question", "slug", "path"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .or_else(|| v.pointer("/metadata/title").and_then(Value::as_str))
        .unwrap_or_default();
    let status = v.get("status").and_then(Value::as_str);
    let mut out = id.to_string();
    if !name.is_empty() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&format!("{name:?}"));
    }
    if let Some(s) = status {
        out.push_str(&format!(" ({s})"));
    }
    if out.is_empty() { "done".into() } else { out }
}
