//! BM25 statistics of one scope (a project's KB and one kind of content).
//!
//! tantivy computes IDF and average field lengths over the whole index by default, which would
//! make a KB's ranking — and the `score` its clients see — depend on other tenants' content.
//! Scoring with statistics counted inside the searched scope keeps each KB's relevance its own,
//! and leaks nothing about other KBs through scores.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocSet, Searcher, TERMINATED, Term};

/// Scopes remembered per searcher generation.
const MAX_CACHED_SCOPES: usize = 256;

/// Which documents of one segment are in the scope.
struct SegmentScope {
    /// `None`: every live document of the segment is.
    docs: Option<BitSet>,
}

/// The documents of one scope and the totals BM25 needs.
pub(crate) struct Scope {
    segments: Vec<SegmentScope>,
    pub num_docs: u64,
    tokens: HashMap<Field, u64>,
}

impl Scope {
    fn compute(
        searcher: &Searcher,
        scope_field: Field,
        key: &str,
        text_fields: &[Field],
    ) -> tantivy::Result<Scope> {
        let term = Term::from_field_text(scope_field, key);
        let mut segments = Vec::new();
        let mut num_docs = 0u64;
        let mut tokens: HashMap<Field, u64> = text_fields.iter().map(|f| (*f, 0)).collect();
        for seg in searcher.segment_readers() {
            let inv = seg.inverted_index(scope_field)?;
            let mut bits = BitSet::with_max_value(seg.max_doc());
            let mut count = 0u32;
            if let Some(mut postings) = inv.read_postings(&term, IndexRecordOption::Basic)? {
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    if seg.alive_bitset().is_none_or(|a| a.is_alive(doc)) {
                        bits.insert(doc);
                        count += 1;
                    }
                    doc = postings.advance();
                }
            }
            num_docs += u64::from(count);
            // Totals come from the (quantized) field norms of live documents, never from the
            // segment's raw counters, so scores do not depend on how documents are spread over
            // segments or on deleted documents awaiting a merge.
            if count > 0 {
                for f in text_fields {
                    let norms = seg.get_fieldnorms_reader(*f)?;
                    let mut sum = 0u64;
                    for doc in 0..seg.max_doc() {
                        if bits.contains(doc) {
                            sum += u64::from(norms.fieldnorm(doc));
                        }
                    }
                    *tokens.entry(*f).or_default() += sum;
                }
            }
            if count > 0 && count == seg.max_doc() {
                // Every document of the segment is live and in scope: term counts are exact.
                segments.push(SegmentScope { docs: None });
                continue;
            }
            segments.push(SegmentScope { docs: Some(bits) });
        }
        Ok(Scope {
            segments,
            num_docs,
            tokens,
        })
    }

    /// Documents of the scope containing `term`; with `stop_at`, counting stops there.
    pub fn count(
        &self,
        searcher: &Searcher,
        term: &Term,
        stop_at: Option<u64>,
    ) -> tantivy::Result<u64> {
        let mut total = 0u64;
        for (seg, scope) in searcher.segment_readers().iter().zip(&self.segments) {
            let inv = seg.inverted_index(term.field())?;
            match &scope.docs {
                None => total += u64::from(inv.doc_freq(term)?),
                Some(bits) if bits.len() == 0 => {}
                Some(bits) => {
                    if let Some(mut postings) = inv.read_postings(term, IndexRecordOption::Basic)? {
                        let mut doc = postings.doc();
                        while doc != TERMINATED {
                            if bits.contains(doc) {
                                total += 1;
                                if stop_at.is_some_and(|s| total >= s) {
                                    return Ok(total);
                                }
                            }
                            doc = postings.advance();
                        }
                    }
                }
            }
            if stop_at.is_some_and(|s| total >= s) {
                return Ok(total);
            }
        }
        Ok(total)
    }
}

/// Scopes computed for the current searcher generation.
#[derive(Default)]
pub(crate) struct StatsCache {
    inner: Mutex<(u64, HashMap<String, Arc<Scope>>)>,
}

impl StatsCache {
    pub fn scope(
        &self,
        searcher: &Searcher,
        scope_field: Field,
        key: &str,
        text_fields: &[Field],
    ) -> tantivy::Result<Arc<Scope>> {
        let generation = searcher.generation().generation_id();
        {
            let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            if g.0 != generation {
                *g = (generation, HashMap::new());
            }
            if let Some(s) = g.1.get(key) {
                return Ok(s.clone());
            }
        }
        let scope = Arc::new(Scope::compute(searcher, scope_field, key, text_fields)?);
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.0 == generation {
            if g.1.len() >= MAX_CACHED_SCOPES {
                g.1.clear();
            }
            g.1.insert(key.to_string(), scope.clone());
        }
        Ok(scope)
    }
}

/// BM25 statistics counted inside one scope.
pub(crate) struct ScopedStats<'a> {
    pub scope: &'a Scope,
    pub searcher: &'a Searcher,
}

impl Bm25StatisticsProvider for ScopedStats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        Ok(self.scope.tokens.get(&field).copied().unwrap_or(0))
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.scope.num_docs)
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        self.scope.count(self.searcher, term, None)
    }
}
