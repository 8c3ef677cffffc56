//! The offline answerer: no model, no network. Deterministic for the same passages and question.
//!
//! How it answers:
//!
//! 1. **Words.** The question's content words (lower-cased, lightly stemmed, stop words and
//!    question filler left out) weigh 1; words of the context (earlier questions of the
//!    thread, selected text) that the question lacks weigh [`CONTEXT_WEIGHT`], so a follow-up
//!    ("and on Windows?") is read with the topic of the thread. A question with no content
//!    word of its own ("why?") is read as its context. Each word also gets an idf-like weight
//!    over the retrieved passages, `1 + ln((N + 1) / (df + 1))`: a word every passage has
//!    tells little, a word few have is what the question is about.
//! 2. **Which passages answer.** The best passage that fits the question must score at least
//!    [`Options::min_score`] (the search's score, which weighs the question's words by how rare
//!    they are in the whole knowledge base); then every passage that fits and scores at least
//!    [`PAGE_FLOOR`] × that best one answers. A passage fits if it holds, in its text, title or
//!    heading:
//!    [`Options::min_coverage`] of the question's words, each counting alike (a context word at
//!    its weight); at least [`MIN_MATCHED_WORDS`] of them (all, if the question has fewer): one
//!    shared word is no answer to a question of several ("how do I deploy a rocket"); and one
//!    of them as written. A word seen only inside a `{{…}}` placeholder counts half (tldr pages
//!    put example values there), a word present only as a near spelling (a typo:
//!    [`TYPO_PRESENCE`]) counts half. Only such passages are quoted.
//! 3. **Unanswered.** With no answering passage the reply says that the documentation doesn't
//!    cover the question and lists up to [`Options::max_suggestions`] closest pages as links
//!    with citations (`unanswered`). A page is suggested only if its passage scores at least
//!    `min_score`, holds [`MIN_MATCHED_WORDS`] of the question's words and its title or heading
//!    shares one: "what is the capital of France" gets no citation at all, not even from a page
//!    with "Paris, France" in an example.
//! 4. **Sentences.** The answering passages are cut into units: sentences, list items, table
//!    rows, a `:` sentence with the code it introduces. A unit scores the share of the
//!    question's weight it contains, plus [`PASSAGE_WEIGHT`] × the passage's score, plus
//!    [`HEADING_WEIGHT`] × the question's coverage by the passage's title and heading, minus
//!    [`LENGTH_PENALTY`] if it is very short or very long. A unit with no word of the question
//!    is never quoted, so a page's first line is quoted only when it answers. The pages quoted
//!    are those of the answering passages in the search's order, at most [`MAX_PAGES`]: each
//!    gives its best unit, then the other units follow best first, skipping any whose share is
//!    below [`RELATIVE_FLOOR`] × the best share and any repeat, up to
//!    [`Options::max_sentences`] units. If the question's words are only in a title or heading
//!    ("webhooks?"), the first sentences of that passage are quoted.
//! 5. **The answer.** "From the documentation:", then one group per page, pages in the search's
//!    order, units in reading order (passages in retrieval order, units in text
//!    order). Units are quoted verbatim: sentences of one paragraph run on, another paragraph
//!    starts a new one, list items and table rows are list items (numbered if they were),
//!    attached code is a fenced block; a quoted sentence that introduces a list (it ends with
//!    `:`, or an ordered list follows it: the steps of a procedure) brings the list along; a
//!    unit cut from a very long sentence is marked with `…`. Each group ends with its citation
//!    `[n]`, numbered 1, 2, … in text order. A literal `[3]` inside quoted text is escaped
//!    (`\[3]`) so that every `[n]` of the answer is a citation.
//!
//! Sources: one per page, pages told apart by their URL without the `#fragment` (a page's
//! sections are passages of the same page). The citation keeps the URL, fragment included, of
//! the passage of the page's best unit, so the link opens the section that answered; its title
//! is the article's title.
//!
//! Clarifying question: a question of a single content word, without thread context, that
//! at least three answering pages match with nearly equal scores ([`CLARIFY_SPREAD`]), and
//! where not exactly one of them has the word in its title, gets `clarifying_question`: "which
//! one do you mean?" with those pages as cited links. Its resolution is `answered`: the
//! documentation covers the term, so it is no content gap in the analytics.

mod units;
mod words;

use std::collections::BTreeSet;

use tome_core::assistant::{Resolution, ResponseType};

use crate::{Answer, Citation, Passage};
use units::{Kind, Unit};
use words::{Words, add_words, content_words};

/// Settings of the extractive answerer.
#[derive(Debug, Clone)]
pub struct Options {
    /// Passages scoring below this (0–1, the documentation search's scale) are not relevant
    /// enough to answer from; with none above it the answer is `unanswered`.
    pub min_score: f32,
    /// Most sentences quoted in an answer.
    pub max_sentences: usize,
    /// Most pages suggested in an `unanswered` reply.
    pub max_suggestions: usize,
    /// Share (0–1) of the question's content words that a passage must contain (text, title or
    /// heading), each counting alike, to be quoted; with no such passage the answer is
    /// `unanswered`. With [`MIN_MATCHED_WORDS`] it keeps a passage that search ranked high on one
    /// word of the question ("cup" of "who won the world cup") from being quoted as an answer to
    /// all of it.
    pub min_coverage: f32,
}

impl Default for Options {
    fn default() -> Self {
        // Calibrated on the Mintlify and tldr corpora (docs/assistant.md, "Relevance
        // threshold"): every unanswerable question of the test set stays unanswered with a margin.
        Options {
            min_score: 0.35,
            max_sentences: 4,
            max_suggestions: 3,
            min_coverage: 0.4,
        }
    }
}

/// Weight of a context word (earlier questions, selected text) against a question word's 1.
pub const CONTEXT_WEIGHT: f32 = 0.35;
/// Weight of the passage's search score (0–1) in a unit's score.
pub const PASSAGE_WEIGHT: f32 = 0.25;
/// Weight of the share of the question's words found in the passage's title and heading.
pub const HEADING_WEIGHT: f32 = 0.15;
/// Taken off a unit of fewer than [`SHORT_WORDS`] or more than [`LONG_WORDS`] words.
pub const LENGTH_PENALTY: f32 = 0.1;
/// Units shorter than this many words are penalised (a fragment says little).
pub const SHORT_WORDS: usize = 4;
/// Units longer than this many words are penalised (a wall of text quotes badly).
pub const LONG_WORDS: usize = 45;
/// Units whose share of the question's weight is below this fraction of the largest share are
/// not quoted: they answer a smaller part of the question than the best unit does.
pub const RELATIVE_FLOOR: f32 = 0.6;
/// Most pages an answer quotes.
pub const MAX_PAGES: usize = 3;
/// Pages whose best scores are within this of the top one count as equally likely (for a
/// clarifying question).
pub const CLARIFY_SPREAD: f32 = 0.05;
/// Question words a passage must hold to answer (or to be suggested), or all of them if the
/// question has fewer: one shared word is too weak a link ("how do I deploy a rocket" meets
/// every page about deploying; "how many legs does a spider have" meets `scrapy`'s spider).
pub const MIN_MATCHED_WORDS: f32 = 2.0;
/// Presence of a question word that a passage holds only as a near spelling (a typo of it:
/// "genrate" for "generate"): search forgives typos, so the answerer counts them, but partly,
/// as a word the documentation lacks may just look like one it has ("rocket", "socket").
pub const TYPO_PRESENCE: f32 = 0.5;
/// Once the best passage that fits the question reaches [`Options::min_score`], the other
/// fitting passages scoring at least this share of its score answer too (even below
/// `min_score`): a page that answers nearly as well as the best one is quoted and cited with it.
pub const PAGE_FLOOR: f32 = 0.5;
/// Most list items quoted after a sentence that introduces them.
const MAX_STEPS: usize = 10;
/// Sentences quoted from the best passage when the question's words are only in its title.
const FALLBACK_SENTENCES: usize = 2;

const LEAD_IN: &str = "From the documentation:";
const NOT_COVERED: &str = "The documentation doesn't cover this.";
const CLOSEST: &str = "Closest pages:";
const CLARIFY: &str = "Your question matches several pages. Which one do you mean?";

/// Answers `question` (with `context`: earlier questions of the thread and any text the asker
/// selected, most recent last) from `passages` (best first).
pub fn answer(question: &str, context: &[String], passages: &[Passage], opts: &Options) -> Answer {
    let mut analysed: Vec<Analysed> = passages.iter().map(Analysed::new).collect();
    // Best first, whatever order they came in; ties keep the caller's order.
    analysed.sort_by(|a, b| b.passage.score.total_cmp(&a.passage.score));
    let query = Query::new(question, context, &analysed);
    if query.primary.is_empty() {
        return not_covered(&[], &query, opts);
    }
    // The passages that answer: containing enough of the question, the best of them relevant to
    // search, the others nearly as relevant as it.
    let fitting: Vec<&Analysed> = analysed
        .iter()
        .filter(|a| query.fit(&a.words).answers(opts))
        .collect();
    let top = fitting.first().map_or(0.0, |a| a.passage.score);
    let relevant: Vec<&Analysed> = if top >= opts.min_score {
        fitting
            .into_iter()
            .filter(|a| a.passage.score >= top * PAGE_FLOOR)
            .collect()
    } else {
        Vec::new()
    };
    if relevant.is_empty() {
        return not_covered(&analysed, &query, opts);
    }
    if let Some(clarifying) = clarify(&relevant, &query, opts) {
        return clarifying;
    }
    let picked = pick(&relevant, &query, opts);
    if picked.is_empty() {
        return not_covered(&analysed, &query, opts);
    }
    compose(&relevant, &picked)
}

/// The question's words with their weights.
struct Query {
    /// The question's own content words (or the context's, if it has none).
    primary: BTreeSet<String>,
    /// All words, sorted, no repeats.
    words: Vec<QueryWord>,
}

struct QueryWord {
    word: String,
    /// 1 for the question's own words, [`CONTEXT_WEIGHT`] for the context's.
    weight: f32,
    /// Idf-like weight over the retrieved passages.
    idf: f32,
    /// Whether no retrieved passage has the word as written: a short word may then be a typo
    /// ([`typo_distance`]).
    unseen: bool,
}

impl Query {
    fn new(question: &str, context: &[String], passages: &[Analysed]) -> Self {
        let mut primary: BTreeSet<String> = content_words(question).into_iter().collect();
        let mut extra: BTreeSet<String> = context
            .iter()
            .flat_map(|c| content_words(c))
            .filter(|w| !primary.contains(w))
            .collect();
        if primary.is_empty() {
            primary = std::mem::take(&mut extra);
        }
        let n = passages.len() as f32;
        let df = |word: &str| {
            passages
                .iter()
                .filter(|a| a.words.contains_key(word))
                .count() as f32
        };
        let mut words: Vec<QueryWord> = primary
            .iter()
            .map(|w| (w.clone(), 1.0))
            .chain(extra.into_iter().map(|w| (w, CONTEXT_WEIGHT)))
            .map(|(word, weight)| {
                let df = df(&word);
                QueryWord {
                    idf: 1.0 + ((n + 1.0) / (df + 1.0)).ln(),
                    unseen: df == 0.0,
                    word,
                    weight,
                }
            })
            .collect();
        words.sort_by(|a, b| a.word.cmp(&b.word));
        Query { primary, words }
    }

    fn primary_words(&self) -> impl Iterator<Item = &QueryWord> {
        self.words.iter().filter(|w| self.primary.contains(&w.word))
    }

    /// Share of the question's own words in `words`, each weighted by its idf (a word that
    /// few retrieved passages have is more the point of the question), a placeholder word
    /// counting partly.
    fn coverage(&self, words: &Words) -> f32 {
        let total: f32 = self.primary_words().map(|w| w.idf).sum();
        let hits: f32 = self
            .primary_words()
            .filter_map(|w| words.get(&w.word).map(|presence| presence * w.idf))
            .sum();
        if total > 0.0 { hits / total } else { 0.0 }
    }

    /// How much of the question `words` holds ([`Fit`]): its own words, and the context's at
    /// their weight (a follow-up is read with the thread: "and a whole directory?" after "how
    /// do I copy a file over ssh").
    fn fit(&self, words: &Words) -> Fit {
        let mut weighted = 0.0;
        let mut count = 0.0;
        let mut matched = 0.0;
        for w in &self.words {
            let p = presence(&w.word, words, &self.words);
            weighted += w.weight * p;
            count += w.weight;
            matched += p;
        }
        Fit {
            share: if count > 0.0 { weighted / count } else { 0.0 },
            matched,
            needed: MIN_MATCHED_WORDS.min(self.primary.len() as f32),
            plain: self.shares_a_word(words),
        }
    }

    /// Whether `words` has one of the question's own words outside placeholders.
    fn shares_a_word(&self, words: &Words) -> bool {
        self.primary
            .iter()
            .any(|w| words.get(w).is_some_and(|p| *p >= 1.0))
    }
}

/// How well a passage's words fit the question's words, each counting alike (a context word at
/// [`CONTEXT_WEIGHT`]): 1 if present, [`words::PLACEHOLDER_WEIGHT`] if only inside `{{…}}`
/// placeholders, [`TYPO_PRESENCE`] if only as a near spelling.
#[derive(Debug, Clone, Copy)]
struct Fit {
    /// The presences, each times its word's weight, over the weights added up.
    share: f32,
    /// The presences added up (a context word's too: in a follow-up, the thread's topic is
    /// part of the question).
    matched: f32,
    /// [`MIN_MATCHED_WORDS`], or the number of the question's own words if fewer.
    needed: f32,
    /// Whether one question word is present as written, outside placeholders.
    plain: bool,
}

impl Fit {
    /// Whether a passage fitting so may answer: enough of the question's words
    /// ([`Options::min_coverage`]), at least [`MIN_MATCHED_WORDS`] of them, one as written.
    fn answers(&self, opts: &Options) -> bool {
        self.share >= opts.min_coverage && self.enough()
    }

    /// At least [`MIN_MATCHED_WORDS`] of the question's words (or all), one as written.
    fn enough(&self) -> bool {
        self.plain && self.matched + 1e-3 >= self.needed
    }
}

/// Presence (0–1) of the question word `word` in `words`: its own, or [`TYPO_PRESENCE`] for a
/// word of `words` that is a likely typo of it (or it of that word): the same first letter, one
/// edit for words of five letters or more, two from nine ([`typo_distance`]), and not itself a
/// word of the question (`query`): "project" stands for "project", not for "protect" too.
fn presence(word: &str, words: &Words, query: &[QueryWord]) -> f32 {
    if let Some(p) = words.get(word) {
        return *p;
    }
    let unseen = query.iter().any(|q| q.word == word && q.unseen);
    let Some(max) = typo_distance(word, unseen) else {
        return 0.0;
    };
    let first = word.chars().next();
    let near = words.iter().any(|(w, p)| {
        *p >= 1.0
            && w.chars().next() == first
            && w.chars().count().abs_diff(word.chars().count()) <= max
            && (typo_distance(w, false).is_some() || (unseen && w.chars().count() >= 3))
            && !query.iter().any(|q| q.word == *w)
            && edits(word, w) <= max
    });
    if near { TYPO_PRESENCE } else { 0.0 }
}

/// Edits a word may be away from another and still read as its typo: none under five letters
/// (short words have too many neighbours: `tire`, `time`, `tile`), one from five, two from nine
/// — and one for a four-letter word that no retrieved passage has as written (`unseen`: "fiel"
/// for "file"; a word the documentation has is no typo). The search's typo tolerance works
/// alike.
fn typo_distance(word: &str, unseen: bool) -> Option<usize> {
    if !word.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    match word.chars().count() {
        0..=3 => None,
        4 => unseen.then_some(1),
        5..=8 => Some(1),
        _ => Some(2),
    }
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and transpositions
/// of neighbours ("extarct" is one edit from "extract").
fn edits(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
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
    d[a.len()][b.len()]
}

/// A passage read for answering.
struct Analysed<'a> {
    passage: &'a Passage,
    /// The page it belongs to: its URL without the fragment.
    page: &'a str,
    units: Vec<Unit>,
    /// Content words of each unit (with its attached code).
    unit_words: Vec<Words>,
    /// Content words of the title, the heading trail and heading lines in the text.
    heading_words: Words,
    /// Content words of the heading trail alone: what every unit of the passage is about.
    trail_words: Words,
    /// All content words: text, title and heading.
    words: Words,
}

impl<'a> Analysed<'a> {
    fn new(passage: &'a Passage) -> Self {
        let units = units::units(&passage.text);
        let unit_words: Vec<Words> = units
            .iter()
            .map(|u| {
                let mut words = Words::new();
                add_words(&u.text, &mut words);
                for line in &u.code {
                    add_words(line, &mut words);
                }
                words
            })
            .collect();
        let mut trail_words = Words::new();
        add_words(&passage.heading, &mut trail_words);
        let mut heading_words = trail_words.clone();
        add_words(&passage.title, &mut heading_words);
        for (unit, words) in units.iter().zip(&unit_words) {
            if unit.kind == Kind::Heading {
                merge(&mut heading_words, words);
            }
        }
        let mut words = heading_words.clone();
        for unit_words in &unit_words {
            merge(&mut words, unit_words);
        }
        // The page's excerpt and tags say what it is about: their words count for whether the
        // passage answers (never for what is quoted).
        add_words(&passage.about, &mut words);
        Analysed {
            passage,
            page: page_of(&passage.url),
            units,
            unit_words,
            heading_words,
            trail_words,
            words,
        }
    }
}

/// Adds `from` to `into`, keeping each word's highest presence.
fn merge(into: &mut Words, from: &Words) {
    for (word, presence) in from {
        let entry = into.entry(word.clone()).or_insert(0.0);
        *entry = entry.max(*presence);
    }
}

/// A URL without its `#fragment`: the page a passage belongs to.
fn page_of(url: &str) -> &str {
    url.split_once('#').map_or(url, |(page, _)| page)
}

/// A unit chosen for the answer: `relevant[passage].units[unit]`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pick {
    passage: usize,
    unit: usize,
    score: f32,
}

/// The units that answer the question best (see the module documentation), best first.
fn pick(relevant: &[&Analysed], query: &Query, opts: &Options) -> Vec<Pick> {
    let total: f32 = query.words.iter().map(|w| w.weight * w.idf).sum();
    let mut candidates = Vec::new();
    for (p, a) in relevant.iter().enumerate() {
        let heading = HEADING_WEIGHT * query.coverage(&a.heading_words);
        for (u, (unit, words)) in a.units.iter().zip(&a.unit_words).enumerate() {
            if matches!(unit.kind, Kind::Heading | Kind::Code) {
                continue;
            }
            let own: f32 = query
                .words
                .iter()
                .filter_map(|w| words.get(&w.word).map(|p| p * w.weight * w.idf))
                .sum();
            if own <= 0.0 {
                continue;
            }
            // A unit says what its section's heading says ("On Windows": "Run the installer"
            // answers "and on Windows?"): the trail's words count as the unit's own.
            let matched: f32 = query
                .words
                .iter()
                .filter_map(|w| {
                    let p = words
                        .get(&w.word)
                        .copied()
                        .unwrap_or_default()
                        .max(a.trail_words.get(&w.word).copied().unwrap_or_default());
                    (p > 0.0).then_some(p * w.weight * w.idf)
                })
                .sum();
            let count = unit.word_count();
            let penalty = if !(SHORT_WORDS..=LONG_WORDS).contains(&count) {
                LENGTH_PENALTY
            } else {
                0.0
            };
            let share = matched / total;
            let score = share + PASSAGE_WEIGHT * a.passage.score + heading - penalty;
            candidates.push((
                share,
                Pick {
                    passage: p,
                    unit: u,
                    score,
                },
            ));
        }
    }
    candidates.sort_by(|(_, a), (_, b)| {
        b.score
            .total_cmp(&a.score)
            .then(a.passage.cmp(&b.passage))
            .then(a.unit.cmp(&b.unit))
    });
    let Some(best_share) = candidates.iter().map(|(share, _)| *share).reduce(f32::max) else {
        return fallback(relevant, query);
    };
    // The pages quoted: those of the answering passages in the search's order, at most
    // MAX_PAGES.
    let mut pages: Vec<&str> = Vec::new();
    for a in relevant {
        if pages.len() < MAX_PAGES && !pages.contains(&a.page) {
            pages.push(a.page);
        }
    }
    let floor = best_share * RELATIVE_FLOOR;
    let mut picked: Vec<Pick> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    // Each page's best unit first, pages in order, so that every page that answers is quoted;
    // then the next best units, while they answer as much as the best unit nearly does.
    for (round, page) in pages.iter().map(|p| (0, Some(*p))).chain([(1, None)]) {
        for (share, c) in &candidates {
            if picked.len() >= opts.max_sentences.max(1) {
                return picked;
            }
            let of = relevant[c.passage].page;
            if !pages.contains(&of) || page.is_some_and(|p| p != of) {
                continue;
            }
            if round == 1 && *share < floor {
                continue;
            }
            if picked.contains(c) {
                continue;
            }
            let unit = &relevant[c.passage].units[c.unit];
            if !seen.insert(normalized(&unit.text)) {
                continue;
            }
            picked.push(*c);
            if round == 0 {
                break;
            }
        }
    }
    picked
}

/// The first sentences of the best passage whose title or heading has the question's words,
/// for a question that names a page rather than asks what is in it ("bugreport?").
fn fallback(relevant: &[&Analysed], query: &Query) -> Vec<Pick> {
    let Some((p, a)) = relevant
        .iter()
        .enumerate()
        .find(|(_, a)| query.coverage(&a.heading_words) > 0.0)
    else {
        return Vec::new();
    };
    a.units
        .iter()
        .enumerate()
        .filter(|(_, u)| matches!(u.kind, Kind::Prose | Kind::Item))
        .take(FALLBACK_SENTENCES)
        .map(|(u, _)| Pick {
            passage: p,
            unit: u,
            score: 0.0,
        })
        .collect()
}

/// Text compared to skip a sentence quoted twice (the same sentence on two pages).
fn normalized(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The answer from the picked units: grouped per page, cited in text order.
fn compose(relevant: &[&Analysed], picked: &[Pick]) -> Answer {
    // Pages in order of their best unit (picks come best first).
    let mut groups: Vec<(&str, Vec<Pick>)> = Vec::new();
    for pick in picked {
        let page = relevant[pick.passage].page;
        match groups.iter_mut().find(|(p, _)| *p == page) {
            Some((_, picks)) => picks.push(*pick),
            None => groups.push((page, vec![*pick])),
        }
    }
    let mut text = String::from(LEAD_IN);
    let mut sources = Vec::new();
    for (n, (_, picks)) in groups.iter().enumerate() {
        let cited = relevant[picks[0].passage].passage;
        sources.push(Citation {
            url: cited.url.clone(),
            title: cited.title.clone(),
        });
        // Reading order, with the steps a quoted sentence introduces.
        let mut ordered: BTreeSet<(usize, usize)> = BTreeSet::new();
        for pick in picks {
            ordered.insert((pick.passage, pick.unit));
            for step in steps_after(&relevant[pick.passage].units, pick.unit) {
                ordered.insert((pick.passage, step));
            }
        }
        let units: Vec<(usize, &Unit)> = ordered
            .iter()
            .map(|(p, u)| (*p, &relevant[*p].units[*u]))
            .collect();
        text.push_str("\n\n");
        text.push_str(&render_group(&units, n + 1));
    }
    Answer {
        text,
        sources,
        response_type: ResponseType::Answer,
        resolution: Resolution::Answered,
    }
}

/// The list right after `units[at]` when that sentence introduces it: it ends a paragraph and
/// either ends with `:` or is followed by an ordered list (the steps of a procedure: "You can
/// manually create a preview." then "1. Go to … 2. Click …"). A how-to answer needs its steps.
fn steps_after(units: &[Unit], at: usize) -> Vec<usize> {
    let Some(unit) = units
        .get(at)
        .filter(|u| u.kind == Kind::Prose && !u.cut_after)
    else {
        return Vec::new();
    };
    let next = at + 1;
    let Some(first) = units.get(next).filter(|n| n.kind == Kind::Item) else {
        return Vec::new();
    };
    if !(unit.text.ends_with(':') || first.number.is_some()) {
        return Vec::new();
    }
    (next..units.len())
        .take_while(|i| units[*i].kind == Kind::Item)
        .take(MAX_STEPS)
        .collect()
}

/// A block of a rendered group.
enum Block {
    Paragraph(String),
    List(Vec<String>),
    Code(Vec<String>),
}

/// One page's quoted units (with the passage each is from), ending with the citation `[n]`.
/// Sentences of one paragraph run on; another paragraph or passage starts a new one.
fn render_group(units: &[(usize, &Unit)], n: usize) -> String {
    let mut blocks: Vec<Block> = Vec::new();
    let mut previous: Option<(usize, usize)> = None;
    for &(passage, unit) in units {
        let same_paragraph = previous == Some((passage, unit.block));
        previous = Some((passage, unit.block));
        let mut quoted = quote(unit);
        if unit.kind == Kind::Item {
            quoted = match unit.number {
                Some(n) => format!("{n}. {quoted}"),
                None => format!("- {quoted}"),
            };
        }
        match (unit.kind, blocks.last_mut()) {
            (Kind::Item, Some(Block::List(items))) => items.push(quoted),
            (Kind::Item, _) => blocks.push(Block::List(vec![quoted])),
            (_, Some(Block::Paragraph(paragraph))) if same_paragraph => {
                paragraph.push(' ');
                paragraph.push_str(&quoted);
            }
            _ => blocks.push(Block::Paragraph(quoted)),
        }
        if !unit.code.is_empty() {
            blocks.push(Block::Code(dedent(&unit.code)));
            previous = None;
        }
    }
    // The citation closes the group's last text.
    let citation = format!(" [{n}]");
    match blocks.iter_mut().rev().find_map(|b| match b {
        Block::Paragraph(p) => Some(p),
        Block::List(items) => items.last_mut(),
        Block::Code(_) => None,
    }) {
        Some(last) => last.push_str(&citation),
        None => blocks.push(Block::Paragraph(citation.trim_start().to_string())),
    }
    blocks
        .iter()
        .map(|b| match b {
            Block::Paragraph(p) => p.clone(),
            Block::List(items) => items.join("\n"),
            Block::Code(lines) => {
                let fence = if lines.iter().any(|l| l.contains("```")) {
                    "~~~~"
                } else {
                    "```"
                };
                format!("{fence}\n{}\n{fence}", lines.join("\n"))
            }
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Code lines without the indentation they all share (a block nested in a list or component).
fn dedent(lines: &[String]) -> Vec<String> {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(l.trim_start()).to_string())
        .collect()
}

/// A unit's text as quoted: verbatim, `…` where it was cut, literal `[n]` escaped.
fn quote(unit: &Unit) -> String {
    let mut out = String::new();
    if unit.cut_before {
        out.push_str("… ");
    }
    out.push_str(&escape_citations(&unit.text));
    if unit.cut_after {
        out.push_str(" …");
    }
    out
}

/// `see [3]` → `see \[3]`: only the answer's own citations read as `[n]`.
fn escape_citations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('[') {
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let escaped = at > 0 && rest.as_bytes()[at - 1] == b'\\';
        out.push_str(&rest[..at]);
        if digits > 0 && after.as_bytes().get(digits) == Some(&b']') && !escaped {
            out.push('\\');
        }
        out.push('[');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// "The documentation doesn't cover this", with the closest pages: passages relevant enough to
/// search ([`Options::min_score`]) that hold [`MIN_MATCHED_WORDS`] of the question's words and
/// whose title or heading shares one, but that hold too little of the question to be quoted. A
/// word shared only by the text is too weak a link to cite ("capital of France" meets a page
/// with "Paris, France" in an example), and so is one word of many ("how far is the moon" meets
/// `moon-buggy`).
fn not_covered(analysed: &[Analysed], query: &Query, opts: &Options) -> Answer {
    let mut pages: Vec<&Passage> = Vec::new();
    for a in analysed {
        if pages.len() >= opts.max_suggestions {
            break;
        }
        let close = a.passage.score >= opts.min_score
            && query.shares_a_word(&a.heading_words)
            && query.fit(&a.words).enough();
        if close && !pages.iter().any(|p| page_of(&p.url) == a.page) {
            pages.push(a.passage);
        }
    }
    let mut text = String::from(NOT_COVERED);
    if !pages.is_empty() {
        text.push_str("\n\n");
        text.push_str(CLOSEST);
        text.push_str("\n\n");
        text.push_str(&link_list(&pages));
    }
    Answer {
        text,
        sources: pages.iter().map(|p| citation(p)).collect(),
        response_type: ResponseType::Answer,
        resolution: Resolution::Unanswered,
    }
}

/// A clarifying question for a one-word question that several pages match about equally.
fn clarify(relevant: &[&Analysed], query: &Query, opts: &Options) -> Option<Answer> {
    let has_context = query.words.len() > query.primary.len();
    if query.primary.len() != 1 || has_context {
        return None;
    }
    let word = query.primary.first()?;
    let top = relevant.first()?.passage.score;
    let mut pages: Vec<&Analysed> = Vec::new();
    for a in relevant {
        if a.passage.score < top - CLARIFY_SPREAD {
            break;
        }
        if query.shares_a_word(&a.words) && !pages.iter().any(|p| p.page == a.page) {
            pages.push(a);
        }
    }
    let titled = pages
        .iter()
        .filter(|a| content_words(&a.passage.title).contains(word))
        .count();
    if pages.len() < 3 || titled == 1 {
        return None;
    }
    let passages: Vec<&Passage> = pages
        .iter()
        .take(opts.max_suggestions.max(2))
        .map(|a| a.passage)
        .collect();
    Some(Answer {
        text: format!("{CLARIFY}\n\n{}", link_list(&passages)),
        sources: passages.iter().map(|p| citation(p)).collect(),
        response_type: ResponseType::ClarifyingQuestion,
        resolution: Resolution::Answered,
    })
}

fn citation(passage: &Passage) -> Citation {
    Citation {
        url: passage.url.clone(),
        title: passage.title.clone(),
    }
}

/// `- [Title](url) [n]` lines, numbered from 1.
fn link_list(passages: &[&Passage]) -> String {
    passages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "- [{}]({}) [{}]",
                link_text(&p.title),
                link_url(&p.url),
                i + 1
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A title as Markdown link text: brackets and backslashes escaped.
fn link_text(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    for c in title.chars() {
        if matches!(c, '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A URL as a Markdown link destination: spaces, parentheses and angle brackets
/// percent-encoded so that the link cannot end early.
fn link_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
