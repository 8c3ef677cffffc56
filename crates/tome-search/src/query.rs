//! From what a reader typed to a tantivy query.
//!
//! The text becomes *units*: words, and `"quoted phrases"`. Each word is a group of clauses, one
//! per searched field, each weighted by its field: the word's stem, plus — for words long enough
//! to be mistyped, and for the last word as a prefix — the stems of the KB's words within one or
//! two edits or starting with it, weighted lower so exact matches stay on top. In queries of up
//! to four content words every one must match (stop words only add to the score); when that
//! finds too little, a second tier returns hits matching some of the words. Longer queries rank
//! every hit matching any content word by relevance.

use std::collections::{HashMap, HashSet};

use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Searcher, Term};
use tome_store::SectionFilter;

use crate::Filters;
use crate::schema::{Fields, Kind, NO_SECTION, en_analyzer, plain_analyzer};
use crate::stats::Scope;

/// Words of a query that are looked at; the rest of a very long query is ignored.
const MAX_UNITS: usize = 32;
/// Queries with up to this many content words are keywords: hits must have them all (first
/// tier). Longer queries read as sentences, where requiring every word finds nothing useful;
/// their hits are ranked by relevance alone.
const MAX_STRICT_WORDS: usize = 4;
/// Words that get typo and prefix expansion (the first ones long enough to have any).
const MAX_EXPANDED_WORDS: usize = 12;
/// Dictionary entries considered per expanded word, and how many become clauses.
const MAX_CANDIDATES: usize = 512;
const MAX_SCOPE_CHECKS: usize = 64;
const MAX_EXPANSIONS: usize = 12;

/// Weight of an expansion relative to the exact word: its kind's ceiling, scaled by how likely
/// the reader meant it — its share of the document frequencies in the KB of the typed word and
/// all its candidates. A typed word the KB lacks is surely a typo (or unfinished) and its likely
/// corrections share nearly full weight; a common word typed correctly keeps its rare neighbours
/// near zero; the exact word always weighs more than any neighbour.
fn expansion_weight(kind: Expansion, candidate_df: u64, total_df: u64) -> f32 {
    let ceiling = match kind {
        Expansion::Prefix => 0.8,
        Expansion::Typo(1) => 0.9,
        Expansion::Typo(_) => 0.7,
    };
    ceiling * candidate_df as f32 / total_df.max(1) as f32
}

/// Weight of the bonus a document earns when its title (or question) holds every content word of
/// a short query: a title that says exactly what was asked beats one word in the title and one
/// in the body, however the field lengths fall.
const TITLE_COVER_BOOST: f32 = 0.5;

/// Extra factor on the neighbours of a typed word that occurs in the KB.
const EXISTING_WORD_DAMPING: f32 = 0.4;

/// Ceiling of the summed weight of one stem reached by several expansions.
const MAX_EXPANSION_WEIGHT: f32 = 0.9;

/// Common English words that do not have to match (they still count when they do).
const STOP_WORDS: &[&str] = &[
    "a", "about", "all", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "could", "do", "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into",
    "is", "it", "its", "me", "my", "of", "on", "or", "our", "should", "so", "such", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "was", "we",
    "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your",
];

/// Words of questions put to the assistant that say little about their topic ("what is the best
/// way to …", "I need to get …"): in a passage search they count like stop words.
#[rustfmt::skip]
const QUESTION_FILLER: &[&str] = &[
    "above", "after", "again", "also", "am", "anyone", "before", "being", "best", "between",
    "both", "cannot", "did", "doing", "done", "during", "each", "either", "else", "ever", "every", "few",
    "further", "get", "gets", "getting", "going", "good", "got", "having", "he", "her", "here", "him",
    "his", "itself", "just", "know", "let", "like", "many", "may", "might", "more", "most", "much",
    "must", "need", "needs", "no", "nor", "not", "now", "once", "one", "only", "other", "own",
    "please", "possible", "same", "see", "shall", "she", "some", "something", "tell", "thank",
    "thanks", "thing", "things", "through", "too", "until", "us", "use", "used", "using", "very",
    "want", "wanted", "way", "well", "whether", "while", "whom", "yes", "yours",
];

/// Words that documentation and the people asking about it use for the same thing: mostly
/// abbreviations (`docs`, `repo`, `config`) and the pairs that differ between platforms or
/// communities (`folder`/`directory`). In a passage search, a question's word also finds its
/// group's other words, at [`SYNONYM_WEIGHT`]: the reader's word does not have to be the page's.
const SYNONYMS: &[&[&str]] = &[
    &["folder", "directory", "dir"],
    &["docs", "documentation"],
    &["repo", "repository"],
    &["config", "configuration"],
    &["app", "application"],
    &["delete", "remove"],
    &["auth", "authentication"],
    &["env", "environment"],
    &["info", "information"],
    &["admin", "administrator"],
    &["ram", "memory"],
    &["db", "database"],
    &["pkg", "package"],
    &["msg", "message"],
    &["image", "picture", "pic", "img"],
    &["website", "site"],
    &["macos", "osx", "mac", "macbook"],
    &["extract", "unpack", "decompress", "uncompress"],
    &["resume", "continue"],
    &["kill", "terminate"],
    &["color", "colour"],
];

/// Weight of a synonym relative to the word typed.
const SYNONYM_WEIGHT: f32 = 0.8;

/// Weight of a word of a passage's category or section name (see [`PlaceStems`]), as a field.
const PLACE_WEIGHT: f32 = 1.0;

/// A category or section of the searched KB with the stems of its name: in a passage search,
/// the passages in it hold those words (tldr pages sit in a category per platform, and "what's
/// my ip address on windows" means the `Windows` category's pages, whose text need not say it).
#[derive(Debug, Clone)]
pub(crate) struct PlaceStems {
    /// The category's or section's ID.
    pub id: String,
    /// A section (else a category).
    pub section: bool,
    pub stems: HashSet<String>,
}

/// The stems of the words in `exact`'s synonym group, without `exact` itself.
fn synonyms(en: &mut TextAnalyzer, exact: &str) -> Vec<String> {
    let mut out = Vec::new();
    for group in SYNONYMS {
        let stems: Vec<String> = group.iter().filter_map(|w| stem(en, w)).collect();
        if stems.iter().any(|s| s == exact) {
            out.extend(stems.into_iter().filter(|s| s != exact));
        }
    }
    out
}

/// Searched fields of a kind with their weights.
/// The first is the field the title-cover bonus looks at; the first and the last are where a
/// typed word's frequency is counted.
pub(crate) fn weighted_fields(f: &Fields, kind: Kind) -> Vec<(Field, f32)> {
    match kind {
        Kind::Article => vec![
            (f.title, 1.3),
            (f.excerpt, 1.25),
            (f.tags, 1.25),
            (f.body, 1.0),
        ],
        Kind::Faq => vec![(f.question, 1.5), (f.answer, 1.0)],
        // A passage's heading says what it is about more precisely than the article's title,
        // which all the article's passages share; the article's excerpt, which they share too,
        // says it in more words, each weighing less.
        Kind::Passage => vec![
            (f.title, 1.1),
            (f.heading, 1.3),
            (f.excerpt, 0.5),
            (f.tags, 1.0),
            (f.body, 1.0),
        ],
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expansion {
    Prefix,
    Typo(u8),
}

#[derive(Debug)]
enum Unit {
    Word { plain: String, last: bool },
    Phrase(Vec<String>),
}

/// Folded words of `text`.
fn words(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

fn parse(text: &str) -> Vec<Unit> {
    let mut plain = plain_analyzer();
    let parts: Vec<&str> = text.split('"').collect();
    // An unclosed quote is just a character: its text counts as words.
    let closed = parts.len() % 2 == 1;
    let mut units = Vec::new();
    let mut seen = HashSet::new();
    for (i, part) in parts.iter().enumerate() {
        let quoted = i % 2 == 1 && (closed || i + 1 < parts.len());
        let ws = words(&mut plain, part);
        if quoted && ws.len() > 1 {
            units.push(Unit::Phrase(ws));
        } else {
            for w in ws {
                if seen.insert(w.clone()) {
                    units.push(Unit::Word {
                        plain: w,
                        last: false,
                    });
                }
            }
            if quoted {
                // A quoted single word means exactly that word: no typo or prefix matching.
                if let Some(Unit::Word { plain, .. }) = units.last() {
                    let w = plain.clone();
                    units.pop();
                    units.push(Unit::Phrase(vec![w]));
                }
            }
        }
    }
    units.truncate(MAX_UNITS);
    // Search-as-you-type: the last word, if typed bare, may be unfinished.
    let bare_end = !text.trim_end().ends_with('"') || !closed;
    if bare_end && let Some(Unit::Word { last, .. }) = units.last_mut() {
        *last = true;
    }
    units
}

fn stem(en: &mut TextAnalyzer, word: &str) -> Option<String> {
    words(en, word).into_iter().next()
}

/// Optimal-string-alignment distance between `a` and the closest prefix of `b` (`prefix`), or
/// all of `b`.
fn edit_distance(a: &str, b: &str, prefix: bool) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    if prefix {
        d[n].iter().copied().min().unwrap_or(n)
    } else {
        d[n][m]
    }
}

/// Typo tolerance by word length: one edit from 5 characters, two from 9 — and one for a
/// 4-letter word the KB does not have (a 5-letter word with a letter dropped).
fn max_typos(word: &str, unknown: bool) -> u8 {
    if word.chars().any(|c| c.is_ascii_digit()) {
        return 0;
    }
    match word.chars().count() {
        0..=3 => 0,
        4 => u8::from(unknown),
        5..=8 => 1,
        _ => 2,
    }
}

/// Dictionary words of the scope near `plain`: `(word, kind, documents)`, most common first.
fn expansions(
    searcher: &Searcher,
    words_field: Field,
    scope: &Scope,
    plain: &str,
    prefix: bool,
    unknown: bool,
) -> tantivy::Result<Vec<(String, Expansion, u64)>> {
    let typos = max_typos(plain, unknown);
    if typos == 0 && !prefix {
        return Ok(Vec::new());
    }
    let mut found: HashMap<String, u64> = HashMap::new();
    // One automaton for every segment: building it is a good part of a fuzzy word's cost.
    let automaton = if typos > 0 {
        let term = Term::from_field_text(words_field, plain);
        Some(if prefix {
            FuzzyTermQuery::new_prefix(term, typos, true).automaton()?
        } else {
            FuzzyTermQuery::new(term, typos, true).automaton()?
        })
    } else {
        None
    };
    'segments: for seg in searcher.segment_readers() {
        let inv = seg.inverted_index(words_field)?;
        let dict = inv.terms();
        let mut collect = |key: &[u8], df: u32| -> bool {
            if let Ok(w) = std::str::from_utf8(key)
                && w != plain
            {
                *found.entry(w.to_string()).or_default() += u64::from(df);
            }
            found.len() < MAX_CANDIDATES
        };
        if let Some(automaton) = &automaton {
            let mut stream = dict.search(automaton).into_stream()?;
            while let Some((key, info)) = stream.next() {
                if !collect(key, info.doc_freq) {
                    break 'segments;
                }
            }
        } else {
            let mut stream = dict.range().ge(plain.as_bytes()).into_stream()?;
            while let Some((key, info)) = stream.next() {
                if !key.starts_with(plain.as_bytes()) || !collect(key, info.doc_freq) {
                    break;
                }
            }
            if found.len() >= MAX_CANDIDATES {
                break;
            }
        }
    }
    let mut candidates: Vec<(String, u64)> = found.into_iter().collect();
    candidates.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out = Vec::new();
    for (word, _) in candidates.into_iter().take(MAX_SCOPE_CHECKS) {
        // The dictionary is shared by every KB: keep only words this scope actually has.
        let df = scope.count(searcher, &Term::from_field_text(words_field, &word), None)?;
        if df == 0 {
            continue;
        }
        let kind = if word.starts_with(plain) {
            Expansion::Prefix
        } else {
            let d = edit_distance(plain, &word, prefix);
            if d > usize::from(typos) {
                continue;
            }
            Expansion::Typo(d as u8)
        };
        out.push((word, kind, df));
        if out.len() >= MAX_EXPANSIONS {
            break;
        }
    }
    Ok(out)
}

fn boosted(q: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    if (boost - 1.0).abs() < f32::EPSILON {
        q
    } else {
        Box::new(BoostQuery::new(q, boost))
    }
}

fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

/// A filter: must match, adds nothing to the score.
fn filter(q: Box<dyn Query>) -> (Occur, Box<dyn Query>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)))
}

fn filter_term(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// The query tiers of one search and the stems to highlight.
pub(crate) struct Plan {
    /// Every content word matches.
    pub all: Box<dyn Query>,
    /// Some content word matches: the second tier, for queries of several content words.
    pub any: Option<Box<dyn Query>>,
    pub marks: HashSet<String>,
    /// Questions only: the score a document would earn by holding each content word (or its best
    /// neighbour) once in a body of average length — `Σ idf`. `score / (score + norm)` puts scores
    /// on a 0–1 scale that means the same for short and long questions, and a question whose
    /// words the KB lacks has a large `norm`, so nothing it finds scores high.
    pub norm: f32,
    /// Questions only: the query's content words, for ranking passages by how much of the
    /// question they hold ([`PlanWord`]); empty for other searches.
    pub words: Vec<PlanWord>,
}

/// One content word of a passage query: the stems that stand for it (its own, weight 1; its
/// likely typo or prefix neighbours and its synonyms, lower) and what it adds to [`Plan::norm`]
/// (its idf).
#[derive(Debug, Clone)]
pub(crate) struct PlanWord {
    pub stems: Vec<(String, f32)>,
    pub idf: f32,
}

/// BM25's inverse document frequency.
pub(crate) fn idf(df: u64, docs: u64) -> f32 {
    let (df, docs) = (df as f32, docs as f32);
    (1.0 + (docs - df + 0.5) / (df + 0.5)).ln()
}

/// Builds the queries for `text` in `scope`, or `None` if the text has no words.
///
/// `dict` is the scope whose `words` are the dictionary for typo and prefix expansion: `scope`
/// itself, except for passages, which take their KB's articles' dictionary (the same words; the
/// passages do not index them a second time).
///
/// `question` (the documentation search and the assistant's, with the KB's categories and
/// sections, [`PlaceStems`]) reads the text as a question put to the documentation: filler words
/// count as stop words, words find their synonyms and the names of places, and the plan carries
/// its [`Plan::norm`] and [`Plan::words`]. `None` is the article search's reading.
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan(
    searcher: &Searcher,
    fields: &Fields,
    scope: &Scope,
    dict: &Scope,
    scope_key: &str,
    kind: Kind,
    text: &str,
    filters: &Filters,
    question: Option<&[PlaceStems]>,
) -> tantivy::Result<Option<Plan>> {
    let places = question.unwrap_or_default();
    let question = question.is_some();
    let units = parse(text);
    if units.is_empty() {
        return Ok(None);
    }
    let weighted = weighted_fields(fields, kind);
    let mut en = en_analyzer();
    let mut marks = HashSet::new();
    let mut content: Vec<Box<dyn Query>> = Vec::new();
    let mut stop: Vec<Box<dyn Query>> = Vec::new();
    // The exact stems of the content words, for the title-cover bonus.
    let mut cover: Vec<String> = Vec::new();
    let mut expanded_words = 0;
    let mut norm = 0.0f32;
    let mut plan_words: Vec<PlanWord> = Vec::new();
    let norm_field = weighted.last().map(|(f, _)| *f);
    for unit in units {
        match unit {
            Unit::Phrase(ws) => {
                let stems: Vec<String> = ws.iter().filter_map(|w| stem(&mut en, w)).collect();
                if stems.is_empty() {
                    continue;
                }
                marks.extend(stems.iter().cloned());
                cover.extend(stems.iter().cloned());
                if question && let Some(field) = norm_field {
                    for s in &stems {
                        let df = scope.count(searcher, &Term::from_field_text(field, s), None)?;
                        norm += idf(df, scope.num_docs);
                        plan_words.push(PlanWord {
                            stems: vec![(s.clone(), 1.0)],
                            idf: idf(df, scope.num_docs),
                        });
                    }
                }
                let clauses = weighted
                    .iter()
                    .map(|(field, w)| {
                        let q: Box<dyn Query> = if stems.len() == 1 {
                            term_query(*field, &stems[0])
                        } else {
                            Box::new(PhraseQuery::new(
                                stems
                                    .iter()
                                    .map(|s| Term::from_field_text(*field, s))
                                    .collect(),
                            ))
                        };
                        boosted(q, *w)
                    })
                    .collect();
                content.push(Box::new(BooleanQuery::union(clauses)));
            }
            Unit::Word { plain, last } => {
                let Some(exact) = stem(&mut en, &plain) else {
                    continue;
                };
                // Stem → weight relative to the exact word.
                let mut variants: Vec<(String, f32)> = vec![(exact.clone(), 1.0)];
                // Stop words are optional and short: looking for their neighbours would spend the
                // budget of expanded words before the content words late in a long question.
                let stop_word = STOP_WORDS.contains(&plain.as_str())
                    || (question && QUESTION_FILLER.binary_search(&plain.as_str()).is_ok());
                if expanded_words < MAX_EXPANDED_WORDS
                    && (last || (!stop_word && max_typos(&plain, true) > 0))
                {
                    expanded_words += 1;
                    // How common the typed word is here, as typed or by its stem.
                    let mut typed_df =
                        dict.count(searcher, &Term::from_field_text(fields.words, &plain), None)?;
                    for (field, _) in weighted.iter().take(1).chain(weighted.last()) {
                        let t = Term::from_field_text(*field, &exact);
                        typed_df = typed_df.max(scope.count(searcher, &t, None)?);
                    }
                    let found =
                        expansions(searcher, fields.words, dict, &plain, last, typed_df == 0)?;
                    let total = typed_df + found.iter().map(|(_, _, df)| df).sum::<u64>();
                    for (word, kind, df) in found {
                        let Some(s) = stem(&mut en, &word) else {
                            continue;
                        };
                        if s == exact {
                            continue;
                        }
                        let mut weight = expansion_weight(kind, df, total);
                        if typed_df > 0 {
                            // The typed word exists: a document with it must outrank one with
                            // a neighbour, even one with the neighbour in several fields.
                            weight *= EXISTING_WORD_DAMPING;
                        }
                        match variants.iter_mut().find(|(v, _)| *v == s) {
                            Some((_, w)) => *w = (*w + weight).min(MAX_EXPANSION_WEIGHT),
                            None => variants.push((s, weight)),
                        }
                    }
                }
                if question && !stop_word {
                    for s in synonyms(&mut en, &exact) {
                        match variants.iter_mut().find(|(v, _)| *v == s) {
                            Some((_, w)) => *w = w.max(SYNONYM_WEIGHT),
                            None => variants.push((s, SYNONYM_WEIGHT)),
                        }
                    }
                }
                let mut clauses = Vec::new();
                for (s, vw) in &variants {
                    marks.insert(s.clone());
                    for (field, fw) in &weighted {
                        clauses.push(boosted(term_query(*field, s), fw * vw));
                    }
                }
                if question
                    && !stop_word
                    && let Some(field) = norm_field
                {
                    // The best the word can add: its likeliest form that the KB has; a word the
                    // KB lacks in every form counts in full, as the part of the question nothing
                    // here answers.
                    let mut best: Option<f32> = None;
                    for (s, vw) in &variants {
                        let df = scope.count(searcher, &Term::from_field_text(field, s), None)?;
                        if df > 0 {
                            let v = vw * idf(df, scope.num_docs);
                            best = Some(best.map_or(v, |b: f32| b.max(v)));
                        }
                    }
                    let word_idf = best.unwrap_or_else(|| idf(0, scope.num_docs));
                    norm += word_idf;
                    plan_words.push(PlanWord {
                        stems: variants.clone(),
                        idf: word_idf,
                    });
                    // The passages of a category or section whose name has the word hold it, as
                    // a field of their own would: scored as one occurrence in a field of average
                    // length.
                    for place in places {
                        let held = variants
                            .iter()
                            .filter(|(s, _)| place.stems.contains(s))
                            .map(|(_, vw)| *vw)
                            .fold(0.0f32, f32::max);
                        if held > 0.0 {
                            let field = if place.section {
                                fields.section
                            } else {
                                fields.category
                            };
                            clauses.push(Box::new(ConstScoreQuery::new(
                                filter_term(field, &place.id),
                                PLACE_WEIGHT * held * word_idf,
                            )));
                        }
                    }
                }
                let group: Box<dyn Query> = Box::new(BooleanQuery::union(clauses));
                if stop_word {
                    stop.push(group);
                } else {
                    cover.push(exact);
                    content.push(group);
                }
            }
        }
    }
    if content.is_empty() && stop.is_empty() {
        return Ok(None);
    }
    if content.is_empty() {
        // Only stop words: they are what the reader is looking for.
        content = std::mem::take(&mut stop);
    }
    let filters = filter_clauses(fields, scope_key, kind, filters);
    let any_query = |content: &[Box<dyn Query>]| {
        let mut any: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            Box::new(BooleanQuery::union(
                content.iter().map(|q| q.box_clone()).collect(),
            )) as Box<dyn Query>,
        )];
        any.extend(stop.iter().map(|q| (Occur::Should, q.box_clone())));
        any.extend(filters.iter().map(|(o, q)| (*o, q.box_clone())));
        Box::new(BooleanQuery::new(any)) as Box<dyn Query>
    };
    if content.len() > MAX_STRICT_WORDS {
        // A question in sentences, not keywords: rank everything that matches by relevance.
        return Ok(Some(Plan {
            all: any_query(&content),
            any: None,
            marks,
            norm,
            words: plan_words,
        }));
    }
    let mut all: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    all.extend(content.iter().map(|q| (Occur::Must, q.box_clone())));
    all.extend(stop.iter().map(|q| (Occur::Should, q.box_clone())));
    if cover.len() > 1
        && let Some((title, _)) = weighted.first()
    {
        let every: Vec<(Occur, Box<dyn Query>)> = cover
            .iter()
            .map(|s| (Occur::Must, term_query(*title, s)))
            .collect();
        all.push((
            Occur::Should,
            boosted(Box::new(BooleanQuery::new(every)), TITLE_COVER_BOOST),
        ));
    }
    all.extend(filters.iter().map(|(o, q)| (*o, q.box_clone())));
    Ok(Some(Plan {
        all: Box::new(BooleanQuery::new(all)),
        any: (content.len() > 1).then(|| any_query(&content)),
        marks,
        norm,
        words: plan_words,
    }))
}

fn filter_clauses(
    f: &Fields,
    scope_key: &str,
    kind: Kind,
    filters: &Filters,
) -> Vec<(Occur, Box<dyn Query>)> {
    let mut out = vec![filter(filter_term(f.scope, scope_key))];
    if !filters.statuses.is_empty() {
        out.push(filter(Box::new(BooleanQuery::union(
            filters
                .statuses
                .iter()
                .map(|s| filter_term(f.status, s.as_str()))
                .collect(),
        ))));
    }
    if let Some(c) = &filters.category_id {
        out.push(filter(filter_term(f.category, c)));
    }
    match &filters.section {
        SectionFilter::Any => {}
        SectionFilter::Ungrouped => out.push(filter(filter_term(f.section, NO_SECTION))),
        SectionFilter::Is(s) => out.push(filter(filter_term(f.section, s))),
    }
    if let (Some(tag), Kind::Article | Kind::Passage) = (&filters.tag, kind) {
        out.push(filter(filter_term(f.tag, tag)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_words_phrases_and_unclosed_quotes() {
        let u = parse(r#"reset "two factor" Café"#);
        assert!(matches!(&u[0], Unit::Word { plain, last: false } if plain == "reset"));
        assert!(matches!(&u[1], Unit::Phrase(p) if p == &["two", "factor"]));
        assert!(matches!(&u[2], Unit::Word { plain, last: true } if plain == "cafe"));
        let u = parse(r#"reset "two fac"#);
        assert_eq!(u.len(), 3);
        assert!(matches!(&u[2], Unit::Word { plain, last: true } if plain == "fac"));
        let u = parse(r#""exact""#);
        assert!(matches!(&u[0], Unit::Phrase(p) if p == &["exact"]));
    }

    #[test]
    fn question_filler_is_sorted_for_binary_search() {
        assert!(QUESTION_FILLER.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn synonyms_are_the_other_words_of_a_group_stemmed() {
        let mut en = en_analyzer();
        let folder = synonyms(&mut en, "folder");
        assert!(folder.contains(&"directori".to_string()), "{folder:?}");
        assert!(!folder.contains(&"folder".to_string()));
        assert_eq!(synonyms(&mut en, "doc"), ["document"]);
        assert!(synonyms(&mut en, "tar").is_empty());
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("pasword", "password", false), 1);
        assert_eq!(edit_distance("pasword", "passwords", false), 2);
        assert_eq!(edit_distance("chnage", "change", false), 1);
        assert_eq!(edit_distance("pasw", "password", true), 1);
        assert_eq!(max_typos("pass", false), 0);
        assert_eq!(max_typos("pass", true), 1);
        assert_eq!(max_typos("abc", true), 0);
        assert_eq!(max_typos("passw", false), 1);
        assert_eq!(max_typos("passwords", false), 2);
        assert_eq!(max_typos("12345", true), 0);
    }
}
