//! The index schema and its analyzers.
//!
//! Searchable text is indexed twice: once per field through the English analyzer (lower case,
//! accents folded, Snowball-stemmed; with positions for phrases), which scores every match, and
//! once as plain folded words in one `words` field, which is only a dictionary for finding the
//! words a typo or a prefix stands for. Identity, scope and filter values are untokenized.

use tantivy::Index;
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, Stemmer, TextAnalyzer,
};

use crate::tokenizer::WordTokenizer;

/// Bumped whenever the schema or the analyzers change meaning: an index written by another
/// version is rebuilt. 2: bodies and answers are indexed as their plain text, not Markdown.
/// 3: articles are also indexed as passages (one per heading), with `heading` and `anchor`.
/// 4: option-letter marks are read through (`e[x]ecute` is one word, [`WordTokenizer`]), and a
/// passage's heading trail leaves out a first heading that repeats the article's title.
/// 5: a passage holds its article's excerpt, and tags are stored (the assistant reads both as
/// words of the page).
/// 6: a passage stores the stems of its text (`stems`), which passage search re-ranks on,
/// instead of analysing every candidate's text at query time.
pub const SCHEMA_VERSION: u64 = 6;

/// Name of the stemming analyzer.
pub const EN: &str = "tome_en";
/// Name of the folding-only analyzer.
pub const PLAIN: &str = "tome_plain";

/// Words longer than this (in bytes) are dropped: they are hashes and base64, not language.
const MAX_TOKEN_BYTES: usize = 40;

/// Folded words: split on anything not alphanumeric (but see [`WordTokenizer`]), lower-cased,
/// accents folded.
pub fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Folded words reduced to their English stem.
pub fn en_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Every field of the index.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// The article or FAQ ID: the document's identity, for upserts and deletes.
    pub id: Field,
    /// `project_id/kb_id/kind`: every query is restricted to one such scope.
    pub scope: Field,
    /// `article`, `faq` or `passage`, for counting documents by kind.
    pub kind: Field,
    pub category: Field,
    /// The section ID, or [`NO_SECTION`].
    pub section: Field,
    pub status: Field,
    /// `created_at`, stored only: equal scores rank older content first.
    pub created: Field,
    /// Each tag, verbatim, for the `tag` filter.
    pub tag: Field,
    pub title: Field,
    pub excerpt: Field,
    pub tags: Field,
    pub body: Field,
    pub question: Field,
    pub answer: Field,
    /// A passage's heading trail (`Install › On Windows`).
    pub heading: Field,
    /// A passage's heading id on the rendered page (stored only; empty for the opening passage).
    pub anchor: Field,
    /// All searchable text as folded words: the dictionary for typo and prefix expansion.
    pub words: Field,
    /// A passage's distinct stems — of its title, heading, excerpt, body and tags, as the
    /// stemming analyzer reads them — space-separated (stored only): what the passage re-rank
    /// checks a question's words against.
    pub stems: Field,
}

/// The `section` value of content that sits directly in its category.
pub const NO_SECTION: &str = "-";

impl Fields {
    pub fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let text = |stored: bool| {
            let o = TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(EN)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            );
            if stored { o.set_stored() } else { o }
        };
        let words = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(PLAIN)
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false),
        );
        let fields = Fields {
            id: b.add_text_field("id", STRING | STORED),
            scope: b.add_text_field("scope", STRING),
            kind: b.add_text_field("kind", STRING),
            category: b.add_text_field("category", STRING | STORED),
            section: b.add_text_field("section", STRING | STORED),
            status: b.add_text_field("status", STRING | STORED),
            created: b.add_text_field("created", STORED),
            tag: b.add_text_field("tag", STRING),
            title: b.add_text_field("title", text(true)),
            excerpt: b.add_text_field("excerpt", text(true)),
            tags: b.add_text_field("tags", text(true)),
            body: b.add_text_field("body", text(true)),
            question: b.add_text_field("question", text(true)),
            answer: b.add_text_field("answer", text(true)),
            heading: b.add_text_field("heading", text(true)),
            anchor: b.add_text_field("anchor", STORED),
            words: b.add_text_field("words", words),
            stems: b.add_text_field("stems", STORED),
        };
        (b.build(), fields)
    }

    /// Looks the fields up by name in an existing index's schema.
    pub fn of(schema: &Schema) -> tantivy::Result<Fields> {
        Ok(Fields {
            id: schema.get_field("id")?,
            scope: schema.get_field("scope")?,
            kind: schema.get_field("kind")?,
            category: schema.get_field("category")?,
            section: schema.get_field("section")?,
            status: schema.get_field("status")?,
            created: schema.get_field("created")?,
            tag: schema.get_field("tag")?,
            title: schema.get_field("title")?,
            excerpt: schema.get_field("excerpt")?,
            tags: schema.get_field("tags")?,
            body: schema.get_field("body")?,
            question: schema.get_field("question")?,
            answer: schema.get_field("answer")?,
            heading: schema.get_field("heading")?,
            anchor: schema.get_field("anchor")?,
            words: schema.get_field("words")?,
            stems: schema.get_field("stems")?,
        })
    }
}

/// Registers Tome's analyzers on an index (they are not persisted with it).
pub fn register_analyzers(index: &Index) {
    index.tokenizers().register(EN, en_analyzer());
    index.tokenizers().register(PLAIN, plain_analyzer());
}

/// What an index document is: a whole article, an FAQ, or a passage of an article (documentation
/// search and the assistant). Each kind is searched in its own scope, with its own statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Article,
    Faq,
    Passage,
}

impl From<tome_store::DocKind> for Kind {
    fn from(k: tome_store::DocKind) -> Self {
        match k {
            tome_store::DocKind::Article => Kind::Article,
            tome_store::DocKind::Faq => Kind::Faq,
        }
    }
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Article => "article",
            Kind::Faq => "faq",
            Kind::Passage => "passage",
        }
    }
}

/// The scope term of a project's KB and one kind of content.
pub fn scope_key(project_id: &str, kb_id: &str, kind: impl Into<Kind>) -> String {
    format!("{project_id}/{kb_id}/{}", kind.into().as_str())
}
