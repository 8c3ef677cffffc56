//! Documentation search: passages of published articles (one per heading, see
//! `tome_render::passages`), ranked with the same query rules as the article search, with scores
//! on a 0–1 scale.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Score, Searcher, TantivyDocument, Term};
use tome_core::model::Status;

use crate::engine::Engine;
use crate::query::{PlaceStems, Plan, PlanWord, plan, weighted_fields};
use crate::schema::{Kind, NO_SECTION, en_analyzer, scope_key};
use crate::stats::{Scope, ScopedStats};
use crate::{Filters, Result};

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
    /// The KB's categories and sections by name: a passage holds the words of its category's
    /// and section's names as well as its own (empty: names are not searched).
    pub places: Vec<Place>,
    /// Whether articles that hold the question as a whole lend weight to their passages
    /// ([`ARTICLE_WEIGHT`]): the assistant's retrieval, where finding the right page is what
    /// counts. It costs a second, article-level search; documentation search (`/v1/search`)
    /// ranks passages on their own and skips it.
    pub whole_articles: bool,
    /// Whether the words of the best passages of a first ranking join the question for a
    /// second one ([`Engine::feedback`], pseudo-relevance feedback): the assistant's retrieval
    /// of a question that is not a follow-up.
    pub feedback: bool,
}

/// A category or a section of the searched KB, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The category's or section's ID.
    pub id: String,
    /// Whether it is a section (else a category).
    pub section: bool,
    pub name: String,
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
    /// The article's excerpt (empty if it has none): what the whole page is about.
    pub excerpt: String,
    /// The article's tags.
    pub tags: Vec<String>,
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

/// Articles whose relevance as a whole lends weight to their passages ([`ARTICLE_WEIGHT`]).
const EVIDENCE_ARTICLES: usize = 10;
/// Factor on a passage's BM25 for its article's relevance as a whole: 1 + this × the article's
/// share of the best article's score. A page whose several sections hold the question's words
/// answers it better than a stray section of another page that holds them all.
const ARTICLE_WEIGHT: f32 = 0.5;
/// Passages of those articles added as candidates, best first.
const EVIDENCE_PASSAGES: usize = 10;

/// Candidates looked at beyond `limit`: the best by BM25 are re-ranked by how much of the
/// question they hold ([`coverage`]), and the best of those returned. (Measured on the assistant's
/// question sets: a larger pool finds nothing more in the first five.)
const RERANK_POOL: usize = 20;

/// Pseudo-relevance feedback ([`Engine::feedback`]): passages of the first ranking read,
const FEEDBACK_PASSAGES: usize = 5;
/// the words of theirs added to the question,
const FEEDBACK_WORDS: usize = 5;
/// the weight of the heaviest of them (the others in proportion; a word of the question
/// weighs 1),
const FEEDBACK_WEIGHT: f32 = 0.3;
/// and the largest share of the KB's passages a word may be in and still be one of them.
const FEEDBACK_MAX_DF: f32 = 0.05;

/// Share (0–1) of the question's content words that `stems` (a passage's title, heading,
/// excerpt, tags and body, analysed) hold, each word weighted by its idf, a typo or prefix
/// neighbour by its weight. A candidate holding none of them (it matched only through a field
/// read otherwise) counts one word's worth.
fn coverage(words: &[PlanWord], stems: &HashSet<String>) -> f32 {
    let total: f32 = words.iter().map(|w| w.idf).sum();
    if total <= 0.0 {
        return 1.0;
    }
    let held: f32 = words
        .iter()
        .map(|w| {
            let best = w
                .stems
                .iter()
                .filter(|(s, _)| stems.contains(s))
                .map(|(_, weight)| weight.min(1.0))
                .fold(0.0f32, f32::max);
            best * w.idf
        })
        .sum();
    if held > 0.0 {
        held / total
    } else {
        // It matched through something not read here: count one word's worth.
        1.0 / words.len() as f32
    }
}

/// The distinct stems of `texts` as `analyzer` reads them, sorted and space-separated: what a
/// passage stores (`stems`) for the re-rank, so a search reads them instead of analysing every
/// candidate's text again (that was a fifth of a documentation search's CPU).
pub(crate) fn stems_text<'a>(
    analyzer: &mut TextAnalyzer,
    texts: impl IntoIterator<Item = &'a str>,
) -> String {
    let mut stems = std::collections::BTreeSet::new();
    for t in texts {
        let mut stream = analyzer.token_stream(t);
        while stream.advance() {
            stems.insert(stream.token().text.clone());
        }
    }
    stems.into_iter().collect::<Vec<_>>().join(" ")
}

/// The stems of a passage's searched text, as the index analysed them.
fn stems_of(analyzer: &mut TextAnalyzer, texts: &[&str]) -> HashSet<String> {
    let mut out = HashSet::new();
    for t in texts {
        let mut stream = analyzer.token_stream(t);
        while stream.advance() {
            out.insert(stream.token().text.clone());
        }
    }
    out
}

impl Engine {
    /// The best [`EVIDENCE_ARTICLES`] published articles for the question as whole documents
    /// (title, excerpt, tags, body: the article search's fields, read as a question), each with
    /// its score's share of the best one's (0–1].
    fn article_evidence(
        &self,
        searcher: &Searcher,
        scope: &Scope,
        key: &str,
        req: &PassageRequest,
        filters: &Filters,
        places: &[PlaceStems],
    ) -> Result<HashMap<String, f32>> {
        let f = &self.fields;
        if scope.num_docs == 0 {
            return Ok(HashMap::new());
        }
        let Some(plan) = plan(
            searcher,
            f,
            scope,
            scope,
            key,
            Kind::Article,
            &req.text,
            filters,
            Some(places),
        )?
        else {
            return Ok(HashMap::new());
        };
        let stats = ScopedStats { scope, searcher };
        let mut hits = searcher.search_with_statistics_provider(
            &plan.all,
            &TopDocs::with_limit(EVIDENCE_ARTICLES).order_by_score(),
            &stats,
        )?;
        if hits.len() < EVIDENCE_ARTICLES
            && let Some(any) = &plan.any
        {
            // Articles holding some of the words, each scored below those holding all.
            let floor = hits.last().map_or(Score::MAX, |(s, _)| *s);
            let seen: HashSet<DocAddress> = hits.iter().map(|(_, a)| *a).collect();
            let more = searcher.search_with_statistics_provider(
                any,
                &TopDocs::with_limit(EVIDENCE_ARTICLES + hits.len()).order_by_score(),
                &stats,
            )?;
            let room = EVIDENCE_ARTICLES - hits.len();
            hits.extend(
                more.into_iter()
                    .filter(|(_, a)| !seen.contains(a))
                    .take(room)
                    .map(|(s, a)| (s.min(floor), a)),
            );
        }
        let best = hits.iter().map(|(s, _)| *s).fold(0.0f32, f32::max);
        let mut out = HashMap::new();
        if best <= 0.0 {
            return Ok(out);
        }
        for (score, addr) in hits {
            let doc: TantivyDocument = searcher.doc(addr)?;
            out.insert(text(&doc, f.id), score / best);
        }
        Ok(out)
    }

    /// Searches the published passages of one KB, best first.
    ///
    /// The query is the article search's ([`crate::query::plan`]: typo and prefix neighbours,
    /// every word first, then some); its best [`RERANK_POOL`] more candidates than asked for are
    /// re-ranked by BM25 × the share of the question they hold ([`coverage`]), and scored
    /// `s / (s + norm)`.
    pub fn search_passages(&self, req: &PassageRequest) -> Result<Vec<PassageHit>> {
        if req.limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.searcher();
        let f = &self.fields;
        let key = scope_key(&req.project_id, &req.kb_id, Kind::Passage);
        let text_fields: Vec<_> = weighted_fields(f, Kind::Passage)
            .iter()
            .map(|(field, _)| *field)
            .collect();
        let scope = self.stats.scope(&searcher, f.scope, &key, &text_fields)?;
        if scope.num_docs == 0 {
            return Ok(Vec::new());
        }
        let filters = Filters {
            statuses: vec![Status::Published],
            tag: req.tag.clone(),
            ..Filters::default()
        };
        // Passages have no dictionary words of their own: their articles' is the same.
        let articles = scope_key(&req.project_id, &req.kb_id, Kind::Article);
        let article_fields: Vec<_> = weighted_fields(f, Kind::Article)
            .iter()
            .map(|(field, _)| *field)
            .collect();
        let dict = self
            .stats
            .scope(&searcher, f.scope, &articles, &article_fields)?;
        let mut analyzer = en_analyzer();
        let places: Vec<PlaceStems> = req
            .places
            .iter()
            .map(|p| PlaceStems {
                id: p.id.clone(),
                section: p.section,
                stems: stems_of(&mut analyzer, &[&p.name]),
            })
            .filter(|p| !p.stems.is_empty())
            .collect();
        let Some(plan) = plan(
            &searcher,
            f,
            &scope,
            &dict,
            &key,
            Kind::Passage,
            &req.text,
            &filters,
            Some(&places),
        )?
        else {
            return Ok(Vec::new());
        };
        let mut evidence = if req.whole_articles {
            self.article_evidence(&searcher, &dict, &articles, req, &filters, &places)?
        } else {
            HashMap::new()
        };
        // An article of one passage is no more than that passage: its score as a whole says
        // nothing the passage's own does not.
        for id in evidence.keys().cloned().collect::<Vec<_>>() {
            let passages = scope.count(&searcher, &Term::from_field_text(f.id, &id), Some(2))?;
            if passages < 2 {
                evidence.remove(&id);
            }
        }
        let stats = ScopedStats {
            scope: &scope,
            searcher: &searcher,
        };
        let place_stems: HashMap<&str, &HashSet<String>> =
            places.iter().map(|p| (p.id.as_str(), &p.stems)).collect();
        let ranking = Ranking {
            searcher: &searcher,
            stats: &stats,
            req,
            plan: &plan,
            evidence: &evidence,
            place_stems: &place_stems,
        };
        // Candidates read once, for both rankings.
        let mut read = HashMap::new();
        let mut out = self.rank(&ranking, None, &mut read)?;
        if req.feedback
            && let Some(feedback) =
                self.feedback(&searcher, &scope, &plan, &out, &evidence, &mut analyzer)?
        {
            // The feedback words re-rank; they never make the best passage more relevant than
            // the question alone made it (the relevance bar reads the best score): the second
            // ranking's scores are scaled so that its best is the first ranking's best.
            let first = out.first().map_or(0.0, |(_, h)| h.score);
            out = self.rank(&ranking, Some(&feedback), &mut read)?;
            let second = out.first().map_or(0.0, |(_, h)| h.score);
            if second > first {
                for (_, h) in &mut out {
                    h.score = (h.score * first / second * 1000.0).round() / 1000.0;
                }
            }
        }
        out.truncate(req.limit);
        Ok(out.into_iter().map(|(_, h)| h).collect())
    }
}

/// A candidate as read from the index: its creation time, the passage (score not set) and
/// the stems it holds.
type Candidate = (String, PassageHit, HashSet<String>);

/// What one ranking of a passage search reads.
struct Ranking<'a> {
    searcher: &'a Searcher,
    stats: &'a ScopedStats<'a>,
    req: &'a PassageRequest,
    plan: &'a Plan,
    evidence: &'a HashMap<String, f32>,
    place_stems: &'a HashMap<&'a str, &'a HashSet<String>>,
}

/// Words of the best passages of a first ranking that the question lacks ([`Engine::feedback`]),
/// as a query that adds to a passage's score.
struct Feedback {
    query: Box<dyn Query>,
    /// What a passage holding each feedback word once adds to the norm.
    norm: f32,
}

impl Engine {
    /// Pseudo-relevance feedback: the [`FEEDBACK_WORDS`] words that the best passages of a
    /// first ranking (`out`, best first) hold most, weighted by how rare they are in the KB,
    /// and that the question lacks, as a query of weight up to [`FEEDBACK_WEIGHT`]. The question
    /// names the topic; the pages that answer it best say what the KB calls it ("keep the old
    /// URLs from breaking" finds a guide's "use redirects for moved content", and then the page
    /// about redirects).
    ///
    /// Only passages of articles that lend their passages whole-article evidence (two passages
    /// or more, among the best articles for the question) are read, the first
    /// [`FEEDBACK_PASSAGES`] of them: the best passages of one-passage pages (every tldr page)
    /// are as many different commands, whose words drift away from the question. Words in more
    /// than [`FEEDBACK_MAX_DF`] of the KB's passages, short or with digits, say nothing about a
    /// topic. A question of one content word gets none: it names no topic that its best
    /// passages could agree on ("windows?" would be read as whichever page has the most
    /// passages among them, and a question that matches several pages alike is asked back).
    /// `None` when no word qualifies.
    fn feedback(
        &self,
        searcher: &Searcher,
        scope: &Scope,
        plan: &Plan,
        out: &[(String, PassageHit)],
        evidence: &HashMap<String, f32>,
        analyzer: &mut TextAnalyzer,
    ) -> Result<Option<Feedback>> {
        let read: Vec<&PassageHit> = out
            .iter()
            .map(|(_, h)| h)
            .take(FEEDBACK_PASSAGES)
            .filter(|h| evidence.contains_key(&h.article_id))
            .collect();
        if read.is_empty() || scope.num_docs == 0 || plan.words.len() < 2 {
            return Ok(None);
        }
        let question: HashSet<&str> = plan
            .words
            .iter()
            .flat_map(|w| w.stems.iter().map(|(s, _)| s.as_str()))
            .collect();
        // Each word's share of each passage's words, weighted by the passage's score.
        let mut weights: HashMap<String, f32> = HashMap::new();
        for h in read {
            let mut counts: HashMap<String, u32> = HashMap::new();
            let mut len = 0u32;
            for t in [&h.title, &h.heading, &h.text] {
                let mut stream = analyzer.token_stream(t);
                while stream.advance() {
                    len += 1;
                    *counts.entry(stream.token().text.clone()).or_default() += 1;
                }
            }
            for (stem, n) in counts {
                if stem.chars().count() >= 3
                    && stem.chars().all(char::is_alphabetic)
                    && !question.contains(stem.as_str())
                {
                    *weights.entry(stem).or_default() += h.score * n as f32 / len.max(1) as f32;
                }
            }
        }
        let f = &self.fields;
        let most = ((scope.num_docs as f32 * FEEDBACK_MAX_DF).ceil() as u64).max(1);
        let mut words: Vec<(String, f32, f32)> = Vec::new();
        for (stem, weight) in weights {
            let df = scope.count(
                searcher,
                &Term::from_field_text(f.body, &stem),
                Some(most + 1),
            )?;
            if df == 0 || df > most {
                continue;
            }
            let idf = crate::query::idf(df, scope.num_docs);
            words.push((stem, weight * idf, idf));
        }
        // Heaviest first; equal weights in a fixed order.
        words.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        words.truncate(FEEDBACK_WORDS);
        let Some(best) = words.first().map(|(_, w, _)| *w).filter(|w| *w > 0.0) else {
            return Ok(None);
        };
        let mut clauses: Vec<Box<dyn Query>> = Vec::new();
        let mut norm = 0.0;
        for (stem, weight, idf) in &words {
            let weight = FEEDBACK_WEIGHT * weight / best;
            norm += weight * idf;
            for (field, fw) in weighted_fields(f, Kind::Passage) {
                clauses.push(Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(field, stem),
                        IndexRecordOption::WithFreqs,
                    )),
                    fw * weight,
                )));
            }
        }
        Ok(Some(Feedback {
            query: Box::new(BooleanQuery::union(clauses)),
            norm,
        }))
    }

    /// A candidate passage as stored (its score not set yet), with its creation time (for ties)
    /// and the stems of what it holds: its text, its article's excerpt and tags, and its
    /// category's and section's names.
    fn read_passage(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        place_stems: &HashMap<&str, &HashSet<String>>,
    ) -> Result<Candidate> {
        let f = &self.fields;
        let doc: TantivyDocument = searcher.doc(addr)?;
        let title = text(&doc, f.title);
        let heading = text(&doc, f.heading);
        let body = text(&doc, f.body);
        let excerpt = text(&doc, f.excerpt);
        let tags: Vec<String> = doc
            .get_all(f.tags)
            .filter_map(|v| v.as_str())
            .map(str::to_string)
            .collect();
        let mut stems: HashSet<String> = text(&doc, f.stems)
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let category = text(&doc, f.category);
        let section = text(&doc, f.section);
        for id in [&category, &section] {
            if let Some(names) = place_stems.get(id.as_str()) {
                stems.extend(names.iter().cloned());
            }
        }
        let anchor = text(&doc, f.anchor);
        let hit = PassageHit {
            article_id: text(&doc, f.id),
            title,
            heading,
            anchor: (!anchor.is_empty()).then_some(anchor),
            text: body,
            excerpt,
            tags,
            category_id: category,
            section_id: (section != NO_SECTION && !section.is_empty()).then_some(section),
            score: 0.0,
        };
        Ok((text(&doc, f.created), hit, stems))
    }

    /// Candidates of the plan (with the feedback words, if any) re-ranked and scored, best
    /// first, with each one's creation time (for ties).
    fn rank(
        &self,
        r: &Ranking,
        feedback: Option<&Feedback>,
        read: &mut HashMap<DocAddress, Candidate>,
    ) -> Result<Vec<(String, PassageHit)>> {
        let (searcher, stats, req, plan, evidence, place_stems) = (
            r.searcher,
            r.stats,
            r.req,
            r.plan,
            r.evidence,
            r.place_stems,
        );
        let f = &self.fields;
        let with_feedback = |q: &dyn Query| -> Box<dyn Query> {
            match feedback {
                Some(fb) => Box::new(BooleanQuery::new(vec![
                    (Occur::Must, q.box_clone()),
                    (Occur::Should, fb.query.box_clone()),
                ])),
                None => q.box_clone(),
            }
        };
        let all = with_feedback(plan.all.as_ref());
        let any = plan.any.as_ref().map(|q| with_feedback(q.as_ref()));
        let pool =
            req.limit + RERANK_POOL + req.near_article.as_ref().map_or(0, |_| NEAR_ARTICLE_EXTRA);
        let mut hits: Vec<(Score, DocAddress)> = searcher.search_with_statistics_provider(
            &all,
            &TopDocs::with_limit(pool).order_by_score(),
            stats,
        )?;
        if hits.len() < pool
            && let Some(any) = &any
        {
            let seen: HashSet<DocAddress> = hits.iter().map(|(_, a)| *a).collect();
            let more = searcher.search_with_statistics_provider(
                any,
                &TopDocs::with_limit(pool + hits.len()).order_by_score(),
                stats,
            )?;
            let room = pool - hits.len();
            hits.extend(
                more.into_iter()
                    .filter(|(_, a)| !seen.contains(a))
                    .take(room),
            );
        }
        if !evidence.is_empty() {
            // The best passages of the articles that answer the question as a whole, though
            // none of their passages ranked on its own (the question's words spread over its
            // sections): candidates too.
            let seen: HashSet<DocAddress> = hits.iter().map(|(_, a)| *a).collect();
            let ids = evidence
                .keys()
                .map(|id| {
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.id, id),
                        IndexRecordOption::Basic,
                    )) as Box<dyn Query>
                })
                .collect();
            let within = BooleanQuery::new(vec![
                (
                    Occur::Must,
                    plan.any.as_ref().unwrap_or(&plan.all).box_clone(),
                ),
                (
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(
                        Box::new(BooleanQuery::union(ids)),
                        0.0,
                    )),
                ),
            ]);
            let more = searcher.search_with_statistics_provider(
                &within,
                &TopDocs::with_limit(EVIDENCE_PASSAGES).order_by_score(),
                stats,
            )?;
            hits.extend(more.into_iter().filter(|(_, a)| !seen.contains(a)));
        }
        // A question of stop words only has no norm: score against one word's worth.
        let norm = plan.norm.max(1.0) + feedback.map_or(0.0, |fb| fb.norm);
        let mut out = Vec::with_capacity(hits.len());
        for (bm25, addr) in hits {
            let (created, hit, stems) = match read.entry(addr) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(self.read_passage(searcher, addr, place_stems)?),
            };
            let held = coverage(&plan.words, stems);
            // BM25 adds up what each word scores in each field, so one word in a passage's
            // title, heading and body can outscore three of the question's words in a body
            // ("make my script executable" would find the page titled `make`): weighing it by
            // the share of the question held ranks the passages that hold more of it first.
            // An article that holds the question as a whole lends its passages part of its
            // relevance (its share of the best article's score, [`ARTICLE_WEIGHT`]).
            let whole = evidence
                .get(hit.article_id.as_str())
                .copied()
                .unwrap_or(0.0);
            let bm25 = bm25 * held * (1.0 + ARTICLE_WEIGHT * whole);
            let mut score = bm25 / (bm25 + norm);
            if req.near_article.as_deref() == Some(hit.article_id.as_str()) {
                score = (score * NEAR_ARTICLE_BOOST).min(1.0);
            }
            out.push((
                created.clone(),
                PassageHit {
                    // Three decimals, as clients compare them against `scoreThreshold`.
                    score: (score * 1000.0).round() / 1000.0,
                    ..hit.clone()
                },
            ));
        }
        // Best first; equal scores in a fixed order (older articles, then reading order).
        out.sort_by(|(ca, a), (cb, b)| b.score.total_cmp(&a.score).then_with(|| ca.cmp(cb)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tome_core::model::Article;
    use tome_store::{IndexContent, IndexDoc};

    use super::*;
    use crate::Position;

    fn article(id: &str, title: &str, body: &str) -> IndexDoc {
        IndexDoc {
            project_id: "prj_1".into(),
            content: IndexContent::Article(Article {
                id: id.into(),
                kb_id: "kb_1".into(),
                category_id: "cat_1".into(),
                section_id: None,
                title: title.into(),
                body: body.into(),
                excerpt: None,
                status: Status::Published,
                tags: Vec::new(),
                related_articles: Vec::new(),
                sort_order: 0,
                published_at: Some("2026-01-01 00:00:00".into()),
                created_at: format!("2026-01-01 00:00:{}", id.len()),
                updated_at: "2026-01-01 00:00:00".into(),
            }),
        }
    }

    /// tldr-like pages: commands named after common words, and the page that answers.
    fn engine() -> Engine {
        let (engine, _) = Engine::open(None).unwrap();
        engine
            .upsert(&[
                article(
                    "kba_make",
                    "make",
                    "# make\n\n> Task runner for targets described in a Makefile.\n\n\
                     - Call the first target specified in the Makefile:\n\n`make`\n\n\
                     - Make a target, then make another target:\n\n`make {{target}} {{other}}`\n",
                ),
                article(
                    "kba_script",
                    "script",
                    "# script\n\n> Record all terminal output to a typescript file.\n\n\
                     - Record a new session to a file named typescript:\n\n`script`\n",
                ),
                article(
                    "kba_chmod",
                    "chmod",
                    "# chmod\n\n> Change the access permissions of a file or directory.\n\n\
                     - Give the user who owns a script the right to execute it, making it executable:\n\n`chmod u+x {{path/to/script.sh}}`\n",
                ),
                article(
                    "kba_df",
                    "df",
                    "# df\n\n> Display an overview of the disk space usage of filesystems.\n\n\
                     - Display all filesystems and their disk space usage:\n\n`df`\n",
                ),
                article(
                    "kba_du",
                    "du",
                    "# du\n\n> Disk usage: estimate and summarize file and directory space usage.\n\n\
                     - List the sizes of a directory and any subdirectories:\n\n`du -h {{path/to/directory}}`\n",
                ),
            ])
            .unwrap();
        engine
            .commit(&Position {
                feed_id: "feed".into(),
                seq: 1,
            })
            .unwrap();
        engine
    }

    fn search(engine: &Engine, text: &str) -> Vec<PassageHit> {
        search_with(engine, text, true)
    }

    /// The assistant's retrieval, with or without [`Engine::feedback`].
    fn search_with(engine: &Engine, text: &str, feedback: bool) -> Vec<PassageHit> {
        engine
            .search_passages(&PassageRequest {
                project_id: "prj_1".into(),
                kb_id: "kb_1".into(),
                text: text.into(),
                tag: None,
                limit: 3,
                near_article: None,
                places: Vec::new(),
                whole_articles: true,
                feedback,
            })
            .unwrap()
    }

    #[test]
    fn the_passage_holding_more_of_the_question_ranks_first() {
        // `make` and `script` match one word each in their title, heading and body; `chmod`
        // holds all three words in its body.
        let engine = engine();
        let hits = search(&engine, "make my script executable");
        assert_eq!(hits[0].article_id, "kba_chmod", "{hits:#?}");
        assert!(hits[0].score > hits[1].score);
        assert!((0.0..=1.0).contains(&hits[0].score));
    }

    #[test]
    fn a_question_s_word_finds_its_synonyms() {
        // The pages say "directory"; the question says "folder".
        let engine = engine();
        let hits = search(&engine, "how much space does this folder use");
        assert_eq!(hits[0].article_id, "kba_du", "{hits:#?}");
    }

    #[test]
    fn a_category_s_name_counts_as_words_of_its_passages() {
        // tldr keeps a category per platform: the Windows page need not say "Windows".
        let engine = engine();
        let mut ipconfig = article(
            "kba_ipconfig",
            "ipconfig",
            "# ipconfig\n\n> Display the network configuration.\n\n\
             - Show the IP addresses of every network adapter:\n\n`ipconfig /all`\n",
        );
        if let IndexContent::Article(a) = &mut ipconfig.content {
            a.category_id = "cat_windows".into();
        }
        engine
            .upsert(&[
                ipconfig,
                article(
                    "kba_ip_address",
                    "ip address",
                    "# ip address\n\n> IP address management subcommand.\n\n\
                     - List network interfaces and their IP addresses:\n\n`ip address`\n",
                ),
            ])
            .unwrap();
        engine
            .commit(&Position {
                feed_id: "feed".into(),
                seq: 2,
            })
            .unwrap();
        let ask = |places: Vec<Place>| {
            engine
                .search_passages(&PassageRequest {
                    project_id: "prj_1".into(),
                    kb_id: "kb_1".into(),
                    text: "what's my ip address on windows".into(),
                    tag: None,
                    limit: 3,
                    near_article: None,
                    places,
                    whole_articles: true,
                    feedback: true,
                })
                .unwrap()
        };
        let without = ask(Vec::new());
        assert_eq!(without[0].article_id, "kba_ip_address", "{without:#?}");
        let places = vec![
            Place {
                id: "cat_windows".into(),
                section: false,
                name: "Windows".into(),
            },
            Place {
                id: "cat_1".into(),
                section: false,
                name: "Linux".into(),
            },
        ];
        let with = ask(places);
        assert_eq!(with[0].article_id, "kba_ipconfig", "{with:#?}");
    }

    #[test]
    fn option_letter_marks_do_not_split_words() {
        let (engine, _) = Engine::open(None).unwrap();
        engine
            .upsert(&[article(
                "kba_chmod",
                "chmod",
                "# chmod\n\n> Change the access permissions of a file.\n\n\
                 - Give the [u]ser who owns a file the right to e[x]ecute it:\n\n`chmod u+x {{path/to/file}}`\n",
            )])
            .unwrap();
        engine
            .commit(&Position {
                feed_id: "feed".into(),
                seq: 1,
            })
            .unwrap();
        let hits = search(&engine, "let the user execute it");
        assert_eq!(hits[0].article_id, "kba_chmod", "{hits:#?}");
        // The passage's heading only repeated the title: it is left out.
        assert_eq!(hits[0].heading, "");
    }

    fn commit(engine: &Engine, docs: &[IndexDoc]) {
        engine.upsert(docs).unwrap();
        engine
            .commit(&Position {
                feed_id: "feed".into(),
                seq: 1,
            })
            .unwrap();
    }

    #[test]
    fn an_article_whose_sections_hold_the_question_lends_its_passages_weight() {
        // Both opening passages hold the question alike (and the older article wins ties);
        // the newer article's other sections hold its words too.
        let (engine, _) = Engine::open(None).unwrap();
        commit(
            &engine,
            &[
                article("kba_a", "Alpha", "Configure the widget colour.\n"),
                article(
                    "kba_bbb",
                    "Beta",
                    "Configure the widget colour.\n\n## Widget\n\nThe widget is a box.\n\n\
                     ## Colour\n\nPick a colour.\n",
                ),
            ],
        );
        let hits = search(&engine, "configure widget colour");
        assert_eq!(hits[0].article_id, "kba_bbb", "{hits:#?}");
        assert_eq!(hits[0].heading, "");
        let alpha = hits.iter().position(|h| h.article_id == "kba_a");
        assert!(alpha.is_some_and(|i| i > 0), "{hits:#?}");
        assert!(hits[0].score > hits[alpha.unwrap()].score);
    }

    #[test]
    fn a_passage_holds_its_article_s_excerpt_and_tags() {
        let (engine, _) = Engine::open(None).unwrap();
        let mut redirects = article(
            "kba_redirects",
            "Redirects",
            "Add a `redirects` array to docs.json.\n\n## Wildcards\n\nMatch many paths at once.\n",
        );
        if let IndexContent::Article(a) = &mut redirects.content {
            a.excerpt = Some("Keep old links working after you move pages.".into());
            a.tags = vec!["broken links".into()];
        }
        commit(
            &engine,
            &[redirects, article("kba_other", "Other", "Nothing here.\n")],
        );
        let hits = search(&engine, "old links");
        assert_eq!(hits.len(), 2, "every passage of the page: {hits:#?}");
        assert!(hits.iter().all(|h| h.article_id == "kba_redirects"));
        assert_eq!(
            hits[0].excerpt,
            "Keep old links working after you move pages."
        );
        assert_eq!(hits[0].tags, ["broken links"]);
    }

    #[test]
    fn the_words_of_the_best_passages_find_the_page_they_name() {
        // The guide's section answers in the question's words and names the page about it
        // ("redirects"), which says it in its own words; two short pages hold as many of the
        // question's words as that page does. Forty more pages make the guide's words rare.
        let (engine, _) = Engine::open(None).unwrap();
        let mut docs = vec![
            article(
                "kba_guide",
                "Linking guide",
                "Link pages to each other.\n\n## Moved pages\n\nWhen you move pages, old \
                 URLs break: add redirects. Redirects keep bookmarks working.\n\n\
                 ## Anchors\n\nAnchors link to headings.\n",
            ),
            article("kba_hidden", "Hidden pages", "Hidden pages keep working.\n"),
            article("kba_pages", "Pages", "Pages keep their order.\n"),
            article(
                "kba_redirects",
                "Redirects",
                "Add redirects for old URLs.\n\n## Wildcards\n\nA wildcard redirect matches \
                 many paths.\n",
            ),
        ];
        for n in 0..40 {
            docs.push(article(
                &format!("kba_topic{n}"),
                &format!("Topic {n}"),
                "When you add a topic, it is listed with the others.\n",
            ));
        }
        commit(&engine, &docs);
        let question = "how do I keep the old URLs of moved pages working";
        let plain = search_with(&engine, question, false);
        let fed = search_with(&engine, question, true);
        let ids = |hits: &[PassageHit]| {
            hits.iter()
                .map(|h| h.article_id.clone())
                .collect::<Vec<_>>()
        };
        assert!(
            !ids(&plain).contains(&"kba_redirects".to_string()),
            "{plain:#?}"
        );
        assert!(ids(&fed).contains(&"kba_redirects".to_string()), "{fed:#?}");
        // The feedback re-ranks; the best score stays what the question alone earned.
        assert_eq!(plain[0].article_id, "kba_guide");
        assert!(fed[0].score <= plain[0].score, "{fed:#?} {plain:#?}");
        // Deterministic: the same question, the same passages in the same order.
        assert_eq!(search_with(&engine, question, true), fed);
        // A question of one word names no topic to feed back.
        assert_eq!(
            search_with(&engine, "pages", true),
            search_with(&engine, "pages", false)
        );
    }

    #[test]
    fn pages_of_one_passage_lend_no_feedback() {
        // tldr-like pages: each is one passage, and the best of them are different commands.
        let engine = engine();
        for question in ["let the user execute it", "record the terminal to a file"] {
            assert_eq!(
                search_with(&engine, question, true),
                search_with(&engine, question, false)
            );
        }
    }

    #[test]
    fn coverage_counts_each_word_once_by_its_idf() {
        let words = vec![
            PlanWord {
                stems: vec![("make".into(), 1.0)],
                idf: 1.0,
            },
            PlanWord {
                stems: vec![("execut".into(), 1.0), ("executor".into(), 0.5)],
                idf: 3.0,
            },
        ];
        let stems = |s: &[&str]| s.iter().map(|w| w.to_string()).collect::<HashSet<_>>();
        assert_eq!(coverage(&words, &stems(&["make", "execut"])), 1.0);
        assert_eq!(coverage(&words, &stems(&["execut"])), 0.75);
        assert_eq!(coverage(&words, &stems(&["make", "executor"])), 0.625);
        // Matched through a field that is not stored (tags): one word's worth.
        assert_eq!(coverage(&words, &stems(&["other"])), 0.5);
        assert_eq!(coverage(&[], &stems(&["make"])), 1.0);
    }
}
