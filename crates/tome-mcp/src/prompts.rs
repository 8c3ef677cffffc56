//! Prompts: ready-made requests an agent's user can pick, built from the caller's own content.

use rmcp::ErrorData;
use rmcp::model::{GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Role};
use serde_json::Value;

/// The prompts, for `prompts/list`.
pub fn list() -> Vec<Prompt> {
    let kb = || {
        PromptArgument::new("kb_id")
            .with_description("The knowledge base (kb_…).")
            .with_required(true)
    };
    vec![
        Prompt::new(
            "article_from_faq",
            Some("Write a full help-centre article from an FAQ entry, as a draft in the FAQ's category."),
            Some(vec![
                kb(),
                PromptArgument::new("faq_id")
                    .with_description("The FAQ entry (faq_…).")
                    .with_required(true),
            ]),
        )
        .with_title("Article from an FAQ"),
        Prompt::new(
            "review_article",
            Some("Review an article for clarity, accuracy of steps and structure, and propose an edit."),
            Some(vec![
                kb(),
                PromptArgument::new("article_id")
                    .with_description("The article (kba_…).")
                    .with_required(true),
            ]),
        )
        .with_title("Review an article"),
    ]
}

/// The argument `name`, or an invalid-params error naming it.
pub fn argument<'a>(args: &'a Option<JsonObject>, name: &str) -> Result<&'a str, ErrorData> {
    args.as_ref()
        .and_then(|a| a.get(name))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ErrorData::invalid_params(
                format!("argument `{name}` is required"),
                Some(serde_json::json!({"field": name})),
            )
        })
}

/// The messages of `article_from_faq` for an FAQ as `get_faq` returns it.
pub fn article_from_faq(kb_id: &str, faq: &Value) -> GetPromptResult {
    let text = format!(
        "Write a help-centre article in Markdown that fully answers the question below, expanding \
         the short FAQ answer into clear steps with headings where useful. Do not invent product \
         behaviour the answer does not support; say what is unclear instead.\n\n\
         Question: {q}\n\nFAQ answer:\n{a}\n\n\
         When the text is ready, call `create_article` with kb_id \"{kb_id}\", category_id \
         \"{c}\"{s}, a title phrased as the reader's task, an excerpt of one sentence, and status \
         \"draft\" so a person can review it before `publish_article`.",
        q = faq["question"].as_str().unwrap_or_default(),
        a = faq["answer"].as_str().unwrap_or_default(),
        c = faq["category_id"].as_str().unwrap_or_default(),
        s = faq["section_id"]
            .as_str()
            .map(|s| format!(", section_id \"{s}\""))
            .unwrap_or_default(),
    );
    GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
        .with_description("Write an article from an FAQ entry")
}

/// The messages of `review_article` for an article as `get_article` returns it.
pub fn review_article(kb_id: &str, article: &Value) -> GetPromptResult {
    let text = format!(
        "Review this help-centre article for a reader trying to get a task done: is the title the \
         task, are the steps complete and in order, is anything ambiguous, outdated-sounding or \
         missing, are headings and lists used well? List the problems, then propose the improved \
         Markdown. Apply it only if asked, with `update_article` (kb_id \"{kb_id}\", id \"{id}\").\n\n\
         # {title}\n\n{body}",
        id = article["id"].as_str().unwrap_or_default(),
        title = article["title"].as_str().unwrap_or_default(),
        body = article["body"].as_str().unwrap_or_default(),
    );
    GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
        .with_description("Review an article")
}
