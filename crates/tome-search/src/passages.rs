//! Documentation search: passages of published articles (one per heading, see
//! `tome_render::passages`), ranked with the same query rules as the article search, with scores
//! on a 0–1 scale.

use tantivy::TantivyDocument;
use tantivy::schema::Value;
use tome_core::model::Status;

use crate::engine::Engine;
use crate::schema::{Kind, NO_SECTION};
use crate::{Filters, Result, SearchRequest};

/// A documentation search inside one knowledge base; only published articles are searched.
#[derive(Debug, Clone)]
pub struct PassageRequest {
    pub project_id: String,
    pub kb_id: String,
    pub text: String,
    /// Only articles with exactly this tag.
    pub tag: Option<String>,
    pub limit: usize,
    /// The article the asker is reading: its passages rank higher ([`NEAR_ARTICLE_BOOST`]).
    pub near_article: Option<String>,
}

/// Factor on the score of passages of the article the asker is reading.
pub const NEAR_ARTICLE_BOOST: f32 = 1.25;

/// Extra candidates looked at beyond `limit` when the near article may lift some.
const NEAR_ARTICLE_EXTRA: usize = 20;

/// A passage that matched.
#[derive(Debug, Clone, PartialEq)]
pub struct PassageHit {
    pub article_id: String,
    /// The article's title.
    pub title: String,
    /// The headings down to the passage, joined by [`crate::PASSAGE_TRAIL_SEPARATOR`]; empty for
    /// the article's opening passage.
    pub heading: String,
    /// The heading's id on the rendered page (a URL fragment), if the passage has a heading.
    pub anchor: Option<String>,
    /// The passage's plain text, one block per line.
    pub text: String,
    pub category_id: String,
    pub section_id: Option<String>,
    /// 0–1: `bm25 / (bm25 + norm)`, where `norm` is what a passage holding every content word of
    /// the question once would score (so such a passage scores about 0.5; one that holds the
    /// words in its heading and body, more; one missing the rarer words, much less).
    pub score: f32,
}

fn text(doc: &TantivyDocument, field: tantivy::schema::Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

impl Engine {
    /// Searches the published passages of one KB, best first.
    pub fn search_passages(&self, req: &PassageRequest) -> Result<Vec<PassageHit>> {
        if req.limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.searcher();
        let fetch = req.limit + req.near_article.as_ref().map_or(0, |_| NEAR_ARTICLE_EXTRA);
        let search = SearchRequest {
            project_id: req.project_id.clone(),
            kb_id: req.kb_id.clone(),
            text: req.text.clone(),
            filters: Filters {
                statuses: vec![Status::Published],
                tag: req.tag.clone(),
                ..Filters::default()
            },
            limit: fetch,
        };
        let Some((hits, _, norm)) = self.search_kind(&searcher, &search, Kind::Passage)? else {
            return Ok(Vec::new());
        };
        // A question of stop words only has no norm: score against one word's worth.
        let norm = norm.max(1.0);
        let f = &self.fields;
        let mut out = Vec::with_capacity(hits.len());
        for (_, bm25, addr) in hits {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let article_id = text(&doc, f.id);
            let mut score = bm25 / (bm25 + norm);
            if req.near_article.as_deref() == Some(article_id.as_str()) {
                score = (score * NEAR_ARTICLE_BOOST).min(1.0);
            }
            let section = text(&doc, f.section);
            let anchor = text(&doc, f.anchor);
            out.push((
                text(&doc, f.created),
                PassageHit {
                    article_id,
                    title: text(&doc, f.title),
                    heading: text(&doc, f.heading),
                    anchor: (!anchor.is_empty()).then_some(anchor),
                    text: text(&doc, f.body),
                    category_id: text(&doc, f.category),
                    section_id: (section != NO_SECTION && !section.is_empty()).then_some(section),
                    // Three decimals, as clients compare them against `scoreThreshold`.
                    score: (score * 1000.0).round() / 1000.0,
                },
            ));
        }
        // Best first; equal scores in a fixed order (older articles, then reading order).
        out.sort_by(|(ca, a), (cb, b)| b.score.total_cmp(&a.score).then_with(|| ca.cmp(cb)));
        out.truncate(req.limit);
        Ok(out.into_iter().map(|(_, h)| h).collect())
    }
}
