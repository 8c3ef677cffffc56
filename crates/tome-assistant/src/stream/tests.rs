#![allow(clippy::unwrap_used)]

use serde_json::{Map, Value, json};
use tome_core::assistant::{Resolution, ResponseType};

use super::*;

fn citation(n: u32) -> Citation {
    Citation {
        url: format!("https://help.example.com/acme/articles/kba_{n}#install"),
        title: format!("Page {n}"),
    }
}

fn source(n: u32) -> Event {
    Event::Source {
        id: n.to_string(),
        citation: citation(n),
    }
}

/// A small answer: two deltas, a source between them, then the end.
fn small_answer() -> Vec<Event> {
    vec![
        Event::Text("Run `mint dev` [1].".into()),
        source(1),
        Event::Text("\n\n\"Quoted\" line\\ [2]".into()),
        source(2),
        Event::Finish {
            thread_id: "thr_abc".into(),
        },
    ]
}

fn encode_all(format: Format, events: &[Event]) -> String {
    let mut encoder = Encoder::new(format, "msg_1");
    let mut out = Vec::new();
    out.extend_from_slice(&encoder.start());
    for event in events {
        out.extend_from_slice(&encoder.encode(event));
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn ui_message_stream_exact_bytes() {
    let expected = concat!(
        "data: {\"type\":\"start\",\"messageId\":\"msg_1\"}\n\n",
        "data: {\"type\":\"text-start\",\"id\":\"text-0\"}\n\n",
        "data: {\"type\":\"text-delta\",\"id\":\"text-0\",\"delta\":\"Run `mint dev` [1].\"}\n\n",
        "data: {\"type\":\"source-url\",\"sourceId\":\"1\",\"url\":\"https://help.example.com/acme/articles/kba_1#install\",\"title\":\"Page 1\"}\n\n",
        "data: {\"type\":\"text-delta\",\"id\":\"text-0\",\"delta\":\"\\n\\n\\\"Quoted\\\" line\\\\ [2]\"}\n\n",
        "data: {\"type\":\"source-url\",\"sourceId\":\"2\",\"url\":\"https://help.example.com/acme/articles/kba_2#install\",\"title\":\"Page 2\"}\n\n",
        "data: {\"type\":\"text-end\",\"id\":\"text-0\"}\n\n",
        "data: {\"type\":\"finish\",\"messageMetadata\":{\"threadId\":\"thr_abc\"}}\n\n",
        "data: [DONE]\n\n",
    );
    assert_eq!(encode_all(Format::UiMessage, &small_answer()), expected);
}

#[test]
fn data_stream_exact_bytes() {
    let expected = concat!(
        "f:{\"messageId\":\"msg_1\"}\n",
        "0:\"Run `mint dev` [1].\"\n",
        "h:{\"sourceType\":\"url\",\"id\":\"1\",\"url\":\"https://help.example.com/acme/articles/kba_1#install\",\"title\":\"Page 1\"}\n",
        "0:\"\\n\\n\\\"Quoted\\\" line\\\\ [2]\"\n",
        "h:{\"sourceType\":\"url\",\"id\":\"2\",\"url\":\"https://help.example.com/acme/articles/kba_2#install\",\"title\":\"Page 2\"}\n",
        "8:[{\"threadId\":\"thr_abc\"}]\n",
        "e:{\"finishReason\":\"stop\",\"usage\":{\"promptTokens\":0,\"completionTokens\":0},\"isContinued\":false}\n",
        "d:{\"finishReason\":\"stop\",\"usage\":{\"promptTokens\":0,\"completionTokens\":0}}\n",
    );
    assert_eq!(encode_all(Format::Data, &small_answer()), expected);
}

/// What a client makes of a stream: the assistant message.
#[derive(Debug, Default, PartialEq)]
struct Message {
    id: String,
    text: String,
    /// `(sourceId, url, title)`.
    sources: Vec<(String, String, String)>,
    thread_id: Option<String>,
    error: Option<String>,
}

/// Keys each chunk type may have in `ai@5.0.0`'s strict `uiMessageChunkSchema` (required ones
/// first, then the optional ones).
fn ui_chunk_keys(kind: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match kind {
        "start" => (&["type"], &["messageId", "messageMetadata"]),
        "text-start" | "text-end" => (&["type", "id"], &["providerMetadata"]),
        "text-delta" => (&["type", "id", "delta"], &["providerMetadata"]),
        "source-url" => (&["type", "sourceId", "url"], &["title", "providerMetadata"]),
        "finish" => (&["type"], &["messageMetadata"]),
        "error" => (&["type", "errorText"], &[]),
        _ => return None,
    })
}

fn string(chunk: &Map<String, Value>, key: &str) -> Result<String, String> {
    chunk
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("{key} is not a string in {chunk:?}"))
}

/// A UI message stream reader as strict as `ai@5.0.0`: SSE events of `data:` lines, each one
/// chunk of the strict schema, text deltas only into an open text part, closed by `[DONE]`.
fn read_ui_message_stream(body: &str) -> Result<Message, String> {
    let mut message = Message::default();
    let mut open: Vec<(String, String)> = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    let mut done = false;
    let events = body
        .strip_suffix("\n\n")
        .ok_or("the stream does not end with a blank line")?;
    for event in events.split("\n\n") {
        if done {
            return Err(format!("event after [DONE]: {event}"));
        }
        let data = event
            .strip_prefix("data: ")
            .ok_or_else(|| format!("not a data event: {event}"))?;
        if data.contains('\n') {
            return Err(format!("multi-line data: {data}"));
        }
        if data == "[DONE]" {
            done = true;
            continue;
        }
        let chunk: Map<String, Value> =
            serde_json::from_str(data).map_err(|e| format!("{e}: {data}"))?;
        let kind = string(&chunk, "type")?;
        let (required, optional) =
            ui_chunk_keys(&kind).ok_or_else(|| format!("unknown chunk type {kind}"))?;
        for key in required {
            if !chunk.contains_key(*key) {
                return Err(format!("{kind} lacks {key}"));
            }
        }
        for key in chunk.keys() {
            if !required.contains(&key.as_str()) && !optional.contains(&key.as_str()) {
                return Err(format!("strict schema rejects {key} in {kind}"));
            }
        }
        match kind.as_str() {
            "start" => message.id = string(&chunk, "messageId")?,
            "text-start" => {
                let id = string(&chunk, "id")?;
                parts.push(id.clone());
                open.push((id, String::new()));
            }
            "text-delta" => {
                let id = string(&chunk, "id")?;
                let part = open
                    .iter_mut()
                    .find(|(open_id, _)| *open_id == id)
                    .ok_or_else(|| format!("delta of a text part not open: {id}"))?;
                part.1.push_str(&string(&chunk, "delta")?);
            }
            "text-end" => {
                let id = string(&chunk, "id")?;
                let at = open
                    .iter()
                    .position(|(open_id, _)| *open_id == id)
                    .ok_or_else(|| format!("end of a text part not open: {id}"))?;
                message.text.push_str(&open.remove(at).1);
            }
            "source-url" => message.sources.push((
                string(&chunk, "sourceId")?,
                string(&chunk, "url")?,
                string(&chunk, "title")?,
            )),
            "finish" => {
                message.thread_id = chunk
                    .get("messageMetadata")
                    .and_then(|m| m.get("threadId"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            "error" => message.error = Some(string(&chunk, "errorText")?),
            _ => unreachable!(),
        }
    }
    if !done {
        return Err("no [DONE]".into());
    }
    if !open.is_empty() {
        return Err(format!("text parts left open: {open:?}"));
    }
    Ok(message)
}

/// A data stream reader with `@ai-sdk/ui-utils@1`'s part checks (`parseDataStreamPart`).
fn read_data_stream(body: &str) -> Result<Message, String> {
    let mut message = Message::default();
    let mut finished = false;
    let lines = body
        .strip_suffix('\n')
        .ok_or("the stream does not end with a newline")?;
    for line in lines.split('\n') {
        let (code, json) = line
            .split_once(':')
            .ok_or_else(|| format!("no separator: {line}"))?;
        let value: Value = serde_json::from_str(json).map_err(|e| format!("{e}: {line}"))?;
        let has_string = |key: &str| value.get(key).is_some_and(Value::is_string);
        match code {
            "f" if has_string("messageId") => message.id = value["messageId"].to_string(),
            "0" => message
                .text
                .push_str(value.as_str().ok_or("text part not a string")?),
            "h" if value.is_object() => message.sources.push((
                value["id"].as_str().unwrap_or_default().to_string(),
                value["url"].as_str().unwrap_or_default().to_string(),
                value["title"].as_str().unwrap_or_default().to_string(),
            )),
            "8" => {
                for annotation in value.as_array().ok_or("annotations not an array")? {
                    if let Some(thread) = annotation.get("threadId").and_then(Value::as_str) {
                        message.thread_id = Some(thread.to_string());
                    }
                }
            }
            "e" if has_string("finishReason") => {}
            "d" if has_string("finishReason") => finished = true,
            "3" => message.error = Some(value.as_str().ok_or("error not a string")?.into()),
            _ => return Err(format!("invalid part: {line}")),
        }
    }
    if !finished && message.error.is_none() {
        return Err("neither finished nor failed".into());
    }
    Ok(message)
}

fn answer() -> Answer {
    Answer {
        text: "From the documentation:\n\nInstall it with `npm i -g mint` [1].\n\nThen run \
               `mint dev` [2]; see also \\[3] and [1]."
            .into(),
        sources: vec![citation(1), citation(2), citation(7)],
        response_type: ResponseType::Answer,
        resolution: Resolution::Answered,
    }
}

fn round_trip(format: Format) -> Message {
    let mut events = events(&answer());
    events.push(Event::Finish {
        thread_id: "thr_9".into(),
    });
    let body = encode_all(format, &events);
    match format {
        Format::UiMessage => read_ui_message_stream(&body),
        Format::Data => read_data_stream(&body),
    }
    .unwrap()
}

#[test]
fn both_streams_round_trip_text_sources_and_thread() {
    for format in [Format::UiMessage, Format::Data] {
        let message = round_trip(format);
        assert_eq!(message.text, answer().text, "{format:?}");
        let ids: Vec<&str> = message.sources.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3"], "{format:?}");
        assert_eq!(message.sources[1].1, citation(2).url);
        assert_eq!(message.sources[2].2, "Page 7");
        assert_eq!(message.thread_id.as_deref(), Some("thr_9"));
        assert_eq!(message.error, None);
    }
    assert_eq!(round_trip(Format::UiMessage).id, "msg_1");
    assert_eq!(round_trip(Format::Data).id, "\"msg_1\"");
}

#[test]
fn events_send_each_source_after_the_paragraph_that_first_cites_it() {
    let events = events(&answer());
    let shape: Vec<String> = events
        .iter()
        .map(|e| match e {
            Event::Text(t) => format!("text:{}", t.len()),
            Event::Source { id, .. } => format!("source:{id}"),
            other => format!("{other:?}"),
        })
        .collect();
    // The escaped `\[3]` is not a citation: source 3 is never cited and comes last.
    assert_eq!(
        shape,
        [
            "text:25", "text:38", "source:1", "text:47", "source:2", "source:3"
        ]
    );
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            Event::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, answer().text);
}

#[test]
fn an_error_mid_stream_closes_the_text_and_ends_the_stream() {
    let events = [
        Event::Text("Partial".into()),
        Event::Error("the model stopped".into()),
        Event::Text("ignored".into()),
        Event::Finish {
            thread_id: "thr_1".into(),
        },
    ];
    let body = encode_all(Format::UiMessage, &events);
    assert!(body.ends_with(
        "data: {\"type\":\"text-end\",\"id\":\"text-0\"}\n\n\
         data: {\"type\":\"error\",\"errorText\":\"the model stopped\"}\n\ndata: [DONE]\n\n"
    ));
    let message = read_ui_message_stream(&body).unwrap();
    assert_eq!(message.text, "Partial");
    assert_eq!(message.error.as_deref(), Some("the model stopped"));
    assert_eq!(message.thread_id, None);

    let body = encode_all(Format::Data, &events);
    assert_eq!(
        body,
        "f:{\"messageId\":\"msg_1\"}\n0:\"Partial\"\n3:\"the model stopped\"\n"
    );
    let message = read_data_stream(&body).unwrap();
    assert_eq!(message.error.as_deref(), Some("the model stopped"));
}

#[test]
fn the_encoder_opens_the_message_itself_and_skips_empty_text() {
    let mut encoder = Encoder::new(Format::UiMessage, "msg_2");
    let first = encoder.encode(&Event::Text(String::new()));
    assert_eq!(
        &first[..],
        b"data: {\"type\":\"start\",\"messageId\":\"msg_2\"}\n\n"
    );
    assert!(encoder.start().is_empty());
    let finish = encoder.encode(&Event::Finish {
        thread_id: "thr_2".into(),
    });
    assert_eq!(
        &finish[..],
        b"data: {\"type\":\"finish\",\"messageMetadata\":{\"threadId\":\"thr_2\"}}\n\ndata: [DONE]\n\n"
    );
    assert!(encoder.encode(&Event::Text("late".into())).is_empty());
}

#[test]
fn text_with_line_separators_stays_one_event() {
    let events = [
        Event::Text("a\nb\r\nc\u{2028}d\0".into()),
        Event::Finish {
            thread_id: "thr_3".into(),
        },
    ];
    for format in [Format::UiMessage, Format::Data] {
        let body = encode_all(format, &events);
        let message = match format {
            Format::UiMessage => read_ui_message_stream(&body),
            Format::Data => read_data_stream(&body),
        }
        .unwrap();
        assert_eq!(message.text, "a\nb\r\nc\u{2028}d\0");
    }
}

#[test]
fn citations_in_reads_numbers_and_skips_escapes_and_words() {
    assert_eq!(
        citations_in("a [1] b [12][3] \\[4] [n]ame [] [1234] [5"),
        [1, 12, 3]
    );
}

#[test]
fn json_answer_has_the_tome_extras() {
    assert_eq!(
        json_answer("thr_1", &answer()),
        json!({
            "threadId": "thr_1",
            "text": answer().text,
            "sources": [
                {"url": citation(1).url, "title": "Page 1"},
                {"url": citation(2).url, "title": "Page 2"},
                {"url": citation(7).url, "title": "Page 7"},
            ],
            "responseType": "answer",
            "resolutionStatus": "answered",
        })
    );
}

#[test]
fn headers_announce_each_protocol() {
    let ui = Format::UiMessage.headers();
    assert!(ui.contains(&("x-vercel-ai-ui-message-stream", "v1")));
    assert!(ui.contains(&("content-type", "text/event-stream")));
    let data = Format::Data.headers();
    assert!(data.contains(&("x-vercel-ai-data-stream", "v1")));
    assert!(data.contains(&("content-type", "text/plain; charset=utf-8")));
}
