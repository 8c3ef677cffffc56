//! Running a search: scope statistics, the query tiers, and hits with highlights.

use std::collections::HashSet;

use tantivy::collector::TopDocs;
use tantivy::schema::{Field, Value};
use tantivy::{DocAddress, Score, Searcher, TantivyDocument};
use tome_core::model::Status;
use tome_store::DocKind;

use crate::engine::Engine;
use crate::highlight::{Marks, passage, plain_start, preview};
use crate::query::{plan, weighted_fields};
use crate::schema::{Kind, NO_SECTION, scope_key};
use crate::stats::ScopedStats;
use crate::{ArticleHit, FaqHit, Result, SearchRequest, SearchResults};

/// Characters of a highlighted passage.
const HIGHLIGHT_CHARS: usize = 160;
/// Characters of an article's body or an FAQ's answer shown as its excerpt.
const PREVIEW_CHARS: usize = 200;

fn text(doc: &TantivyDocument, field: Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

/// The best highlighted passage among `texts` (in order of preference on ties), or the start of
/// the first non-empty one.
fn highlight(texts: &[&str], marks: &Marks) -> String {
    let mut best: Option<(String, usize)> = None;
    for t in texts {
        if let Some((p, n)) = passage(t, marks, HIGHLIGHT_CHARS)
            && best.as_ref().is_none_or(|(_, b)| n > *b)
        {
            best = Some((p, n));
        }
    }
    match best {
        Some((p, _)) => p,
        None => texts
            .iter()
            .find(|t| !t.trim().is_empty())
            .map(|t| plain_start(t, HIGHLIGHT_CHARS))
            .unwrap_or_default(),
    }
}

/// A ranked document: its tier (0: every word matched), score and address.
type Hit = (u8, Score, DocAddress);

/// The hits of one kind, the stems to mark, and the plan's score norm (passages).
pub(crate) type KindHits = (Vec<Hit>, HashSet<String>, f32);

/// Scores as clients see them: three decimals. Hits equal at that precision are ties.
fn rounded(score: Score) -> i64 {
    (f64::from(score) * 1000.0).round() as i64
}

impl Engine {
    /// Searches one KB. Pure index work: the caller has checked that the KB exists and may be
    /// searched by whoever asks.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults> {
        let searcher = self.searcher();
        let mut out = SearchResults::default();
        for kind in [DocKind::Article, DocKind::Faq] {
            if req.filters.kind.is_some_and(|k| k != kind)
                || (kind == DocKind::Faq && req.filters.tag.is_some())
                || req.limit == 0
            {
                continue;
            }
            let Some((hits, marks, _)) = self.search_kind(&searcher, req, kind.into())? else {
                continue;
            };
            let marks = Marks::new(&marks);
            let mut docs = Vec::with_capacity(hits.len());
            for (tier, score, addr) in hits {
                let doc: TantivyDocument = searcher.doc(addr)?;
                docs.push((tier, score, doc));
            }
            // Ties rank older content first, then by ID, so equal requests get equal answers.
            let f = &self.fields;
            docs.sort_by_cached_key(|(tier, score, doc)| {
                (
                    *tier,
                    -rounded(*score),
                    text(doc, f.created),
                    text(doc, f.id),
                )
            });
            for (_, score, doc) in docs {
                self.push_hit(&mut out, kind, &doc, score, &marks);
            }
        }
        Ok(out)
    }

    /// The hits of one kind, the stems to mark, and the plan's score norm.
    pub(crate) fn search_kind(
        &self,
        searcher: &Searcher,
        req: &SearchRequest,
        kind: Kind,
    ) -> Result<Option<KindHits>> {
        let f = &self.fields;
        let key = scope_key(&req.project_id, &req.kb_id, kind);
        let text_fields: Vec<Field> = weighted_fields(f, kind).iter().map(|(f, _)| *f).collect();
        let scope = self.stats.scope(searcher, f.scope, &key, &text_fields)?;
        if scope.num_docs == 0 {
            return Ok(None);
        }
        let dict = match kind {
            Kind::Passage => {
                let articles = scope_key(&req.project_id, &req.kb_id, Kind::Article);
                let fields: Vec<Field> = weighted_fields(f, Kind::Article)
                    .iter()
                    .map(|(f, _)| *f)
                    .collect();
                Some(self.stats.scope(searcher, f.scope, &articles, &fields)?)
            }
            Kind::Article | Kind::Faq => None,
        };
        let dict = dict.as_deref().unwrap_or(&scope);
        let Some(plan) = plan(
            searcher,
            f,
            &scope,
            dict,
            &key,
            kind,
            &req.text,
            &req.filters,
            (kind == Kind::Passage).then_some(&[]),
        )?
        else {
            return Ok(None);
        };
        let stats = ScopedStats {
            scope: &scope,
            searcher,
        };
        let mut hits: Vec<Hit> = searcher
            .search_with_statistics_provider(
                &plan.all,
                &TopDocs::with_limit(req.limit).order_by_score(),
                &stats,
            )?
            .into_iter()
            .map(|(s, a)| (0, s, a))
            .collect();
        if hits.len() < req.limit
            && let Some(any) = &plan.any
        {
            let seen: HashSet<DocAddress> = hits.iter().map(|(_, _, a)| *a).collect();
            let more = searcher.search_with_statistics_provider(
                any,
                &TopDocs::with_limit(req.limit + hits.len()).order_by_score(),
                &stats,
            )?;
            let room = req.limit - hits.len();
            hits.extend(
                more.into_iter()
                    .filter(|(_, a)| !seen.contains(a))
                    .take(room)
                    .map(|(s, a)| (1, s, a)),
            );
        }
        Ok(Some((hits, plan.marks, plan.norm)))
    }

    fn push_hit(
        &self,
        out: &mut SearchResults,
        kind: DocKind,
        doc: &TantivyDocument,
        score: Score,
        marks: &Marks,
    ) {
        let f = &self.fields;
        let section = text(doc, f.section);
        let section_id = (section != NO_SECTION && !section.is_empty()).then_some(section);
        let status = Status::parse(&text(doc, f.status)).unwrap_or(Status::Draft);
        match kind {
            DocKind::Article => {
                let excerpt = doc.get_first(f.excerpt).and_then(|v| v.as_str());
                let body = text(doc, f.body);
                out.articles.push(ArticleHit {
                    id: text(doc, f.id),
                    title: text(doc, f.title),
                    highlight: highlight(&[excerpt.unwrap_or_default(), &body], marks),
                    excerpt: excerpt
                        .map(str::to_string)
                        .or_else(|| (!body.is_empty()).then(|| preview(&body, PREVIEW_CHARS))),
                    category_id: text(doc, f.category),
                    section_id,
                    status,
                    score,
                });
            }
            DocKind::Faq => {
                let answer = text(doc, f.answer);
                out.faqs.push(FaqHit {
                    id: text(doc, f.id),
                    question: text(doc, f.question),
                    highlight: highlight(&[&answer], marks),
                    excerpt: preview(&answer, PREVIEW_CHARS),
                    category_id: text(doc, f.category),
                    section_id,
                    status,
                    score,
                });
            }
        }
    }
}
