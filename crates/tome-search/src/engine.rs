//! The index itself: open or create it, verify it, write documents, commit a feed position.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tantivy::directory::{DirectoryLock, Lock, MmapDirectory};
use tantivy::indexer::IndexWriterOptions;
use tantivy::schema::Schema;
use tantivy::{Directory, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use tome_store::{IndexContent, IndexDoc};

use crate::schema::{Fields, Kind, NO_SECTION, SCHEMA_VERSION, register_analyzers, scope_key};

/// Joins the headings of a passage's trail.
pub const PASSAGE_TRAIL_SEPARATOR: &str = " › ";
use crate::stats::StatsCache;
use crate::{Result, SearchError};

/// Memory the single indexing thread buffers before it flushes a segment: tantivy's minimum.
/// Every commit starts a new segment writer whose term table is sized from this budget (and
/// zeroed, and scanned when the segment is written), so with a commit per management write a
/// small budget is cheaper; bulk rebuilds still flush in large segments.
const WRITER_HEAP_BYTES: usize = 15_000_000;

/// Held by the process that owns an index directory, for as long as it runs.
const OWNER_LOCK: &str = ".tome-search.lock";

/// How far into the change feed the index reflects the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The feed (database) the index was built from.
    pub feed_id: String,
    /// Every change up to this `seq` is applied.
    pub seq: i64,
}

/// What [`Engine::open`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    /// No index existed: a new, empty one was created.
    Created,
    /// A valid index, at this position (`None`: it never recorded one).
    Existing(Option<Position>),
    /// The index could not be used and was replaced by an empty one.
    Replaced { reason: String },
}

/// A tantivy index of every article and FAQ, with one writer.
pub struct Engine {
    index: Index,
    pub(crate) fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    pub(crate) stats: StatsCache,
    /// Keeps other Tome processes off the directory.
    _lock: Option<DirectoryLock>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

fn is_our_file(name: &str) -> bool {
    // tantivy's own files: its metadata and locks, and segment files named `<uuid>.<ext>`.
    matches!(
        name,
        "meta.json" | ".managed.json" | ".tantivy-writer.lock" | ".tantivy-meta.lock"
    ) || name
        .split_once('.')
        .is_some_and(|(stem, _)| stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Removes the index files in `dir`, and nothing else the operator may have put there.
fn wipe(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if entry.file_type()?.is_file() && name.to_str().is_some_and(is_our_file) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

fn parse_payload(payload: Option<&str>) -> Option<(u64, Position)> {
    let v: serde_json::Value = serde_json::from_str(payload?).ok()?;
    Some((
        v.get("version")?.as_u64()?,
        Position {
            feed_id: v.get("feed_id")?.as_str()?.to_string(),
            seq: v.get("seq")?.as_i64()?,
        },
    ))
}

/// The heading trail of a passage, without a first heading that only repeats the article's
/// title (a page that opens with `# chmod` under the title `chmod`): the title is indexed on its
/// own, and counting it a second time as the heading would let one word of a question that
/// names the page outweigh the rest of the question.
pub(crate) fn passage_heading(title: &str, trail: &[String]) -> String {
    let fold = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let rest = match trail.split_first() {
        Some((first, rest)) if fold(first) == fold(title) => rest,
        _ => trail,
    };
    rest.join(PASSAGE_TRAIL_SEPARATOR)
}

impl Engine {
    /// Opens the index in `dir` (created if missing), or an in-memory index when `dir` is
    /// `None`. An index that cannot be read, fails its checksums, or was written with another
    /// schema is replaced by an empty one; the caller then rebuilds it.
    pub fn open(dir: Option<&Path>) -> Result<(Engine, Opened)> {
        let (schema, _) = Fields::schema();
        let Some(dir) = dir else {
            let index = Index::create_in_ram(schema);
            return Ok((Self::with_index(index, None)?, Opened::Created));
        };
        std::fs::create_dir_all(dir)?;
        let mmap = MmapDirectory::open(dir).map_err(|e| SearchError::Task(e.to_string()))?;
        let lock = mmap
            .acquire_lock(&Lock {
                filepath: PathBuf::from(OWNER_LOCK),
                is_blocking: false,
            })
            .map_err(|_| SearchError::Locked(dir.to_path_buf()))?;
        if !dir.join("meta.json").exists() {
            wipe(dir)?;
            let index = Index::create(mmap, schema, Default::default())?;
            return Ok((Self::with_index(index, Some(lock))?, Opened::Created));
        }
        match Self::open_existing(mmap.clone(), &schema) {
            Ok((index, position)) => Ok((
                Self::with_index(index, Some(lock))?,
                Opened::Existing(position),
            )),
            Err(reason) => {
                wipe(dir)?;
                let index = Index::create(mmap, schema, Default::default())?;
                Ok((
                    Self::with_index(index, Some(lock))?,
                    Opened::Replaced { reason },
                ))
            }
        }
    }

    /// Opens and verifies an existing index; `Err` says why it cannot be used.
    fn open_existing(
        dir: MmapDirectory,
        schema: &Schema,
    ) -> std::result::Result<(Index, Option<Position>), String> {
        let index = Index::open(dir).map_err(|e| format!("unreadable: {e}"))?;
        if index.schema() != *schema {
            return Err("written with a different schema".into());
        }
        let metas = index.load_metas().map_err(|e| format!("unreadable: {e}"))?;
        let position = match parse_payload(metas.payload.as_deref()) {
            Some((version, _)) if version != SCHEMA_VERSION => {
                return Err(format!(
                    "written by analyzer version {version}, this is {SCHEMA_VERSION}"
                ));
            }
            Some((_, p)) => Some(p),
            None => None,
        };
        let damaged = index
            .validate_checksum()
            .map_err(|e| format!("cannot verify: {e}"))?;
        if !damaged.is_empty() {
            let files: Vec<String> = damaged.iter().map(|p| p.display().to_string()).collect();
            return Err(format!("damaged files: {}", files.join(", ")));
        }
        Ok((index, position))
    }

    fn with_index(index: Index, lock: Option<DirectoryLock>) -> Result<Engine> {
        register_analyzers(&index);
        let fields = Fields::of(&index.schema())?;
        let writer = index
            .writer_with_options(
                IndexWriterOptions::builder()
                    .num_worker_threads(1)
                    .num_merge_threads(1)
                    .memory_budget_per_thread(WRITER_HEAP_BYTES)
                    .build(),
            )
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => {
                    SearchError::Task("the index writer lock is held".into())
                }
                other => other.into(),
            })?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Engine {
            index,
            fields,
            reader,
            writer: Mutex::new(writer),
            stats: StatsCache::default(),
            _lock: lock,
        })
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        // A panic while holding the writer leaves tantivy's own state consistent; carry on.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The feed position of the last commit, if it recorded one.
    pub fn position(&self) -> Result<Option<Position>> {
        let metas = self.index.load_metas()?;
        Ok(parse_payload(metas.payload.as_deref()).map(|(_, p)| p))
    }

    /// Articles and FAQs in the index (not counting articles' passages).
    pub fn num_docs(&self) -> u64 {
        let searcher = self.reader.searcher();
        searcher
            .num_docs()
            .saturating_sub(self.count_passages(&searcher))
    }

    /// Passages of articles in the index.
    pub fn num_passages(&self) -> u64 {
        self.count_passages(&self.reader.searcher())
    }

    fn count_passages(&self, searcher: &tantivy::Searcher) -> u64 {
        let q = tantivy::query::TermQuery::new(
            Term::from_field_text(self.fields.kind, Kind::Passage.as_str()),
            tantivy::schema::IndexRecordOption::Basic,
        );
        searcher
            .search(&q, &tantivy::collector::Count)
            .map_or(0, |n| n as u64)
    }

    /// Number of segments a search scans (each one's dictionary is walked by typo and prefix
    /// expansion, so fewer is faster).
    pub fn segment_count(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    pub(crate) fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    fn document(&self, doc: &IndexDoc) -> TantivyDocument {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        let (kind, id, category, section, status) = match &doc.content {
            IndexContent::Article(a) => (
                tome_store::DocKind::Article,
                &a.id,
                &a.category_id,
                &a.section_id,
                a.status,
            ),
            IndexContent::Faq(q) => (
                tome_store::DocKind::Faq,
                &q.id,
                &q.category_id,
                &q.section_id,
                q.status,
            ),
        };
        let (kb_id, created) = match &doc.content {
            IndexContent::Article(a) => (&a.kb_id, &a.created_at),
            IndexContent::Faq(q) => (&q.kb_id, &q.created_at),
        };
        d.add_text(f.id, id);
        d.add_text(f.scope, scope_key(&doc.project_id, kb_id, kind));
        d.add_text(f.kind, Kind::from(kind).as_str());
        d.add_text(f.category, category);
        d.add_text(f.section, section.as_deref().unwrap_or(NO_SECTION));
        d.add_text(f.status, status.as_str());
        d.add_text(f.created, created);
        let mut text = |field, value: &str| {
            d.add_text(field, value);
            d.add_text(f.words, value);
        };
        match &doc.content {
            IndexContent::Article(a) => {
                text(f.title, &a.title);
                if let Some(e) = &a.excerpt {
                    text(f.excerpt, e);
                }
                for t in &a.tags {
                    text(f.tags, t);
                }
                // Markdown indexed and stored as the text a reader sees: highlights and excerpts
                // are cut from it, so they show no syntax, and positions match what is shown.
                text(f.body, &tome_render::search_text(&a.body));
            }
            IndexContent::Faq(q) => {
                text(f.question, &q.question);
                text(f.answer, &tome_render::search_text(&q.answer));
            }
        }
        if let IndexContent::Article(a) = &doc.content {
            for t in &a.tags {
                d.add_text(f.tag, t);
            }
        }
        d
    }

    /// An article's passages (`tome_render::passages`), each its own document in the passage
    /// scope under the article's ID — so deleting the article's ID deletes them too.
    fn passage_documents(
        &self,
        project_id: &str,
        a: &tome_core::model::Article,
    ) -> Vec<TantivyDocument> {
        let f = &self.fields;
        let scope = scope_key(project_id, &a.kb_id, Kind::Passage);
        let mut analyzer = crate::schema::en_analyzer();
        tome_render::passages(&a.body)
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let mut d = TantivyDocument::default();
                d.add_text(f.id, &a.id);
                d.add_text(f.scope, &scope);
                d.add_text(f.kind, Kind::Passage.as_str());
                d.add_text(f.category, &a.category_id);
                d.add_text(f.section, a.section_id.as_deref().unwrap_or(NO_SECTION));
                d.add_text(f.status, a.status.as_str());
                // Ties rank older articles first, then the article's passages in reading order.
                d.add_text(f.created, format!("{}#{i:05}", a.created_at));
                d.add_text(f.anchor, p.anchor.as_deref().unwrap_or_default());
                for t in &a.tags {
                    d.add_text(f.tag, t);
                }
                // No `words`: the article's own document holds the same words, and passage search
                // expands typos and prefixes with the article scope's dictionary.
                let heading = passage_heading(&a.title, &p.trail);
                d.add_text(f.title, &a.title);
                d.add_text(f.heading, &heading);
                // The excerpt says what the whole page is about, as its title does: every
                // passage holds it.
                if let Some(e) = &a.excerpt {
                    d.add_text(f.excerpt, e);
                }
                for t in &a.tags {
                    d.add_text(f.tags, t);
                }
                d.add_text(f.body, &p.text);
                let texts = [
                    &a.title,
                    &heading,
                    a.excerpt.as_deref().unwrap_or_default(),
                    &p.text,
                ]
                .into_iter()
                .chain(a.tags.iter().map(String::as_str));
                d.add_text(f.stems, crate::passages::stems_text(&mut analyzer, texts));
                d
            })
            .collect()
    }

    /// Replaces (or adds) these documents. Visible after the next [`Engine::commit`].
    pub fn upsert(&self, docs: &[IndexDoc]) -> Result<()> {
        let w = self.writer();
        for doc in docs {
            w.delete_term(Term::from_field_text(self.fields.id, doc.id()));
            w.add_document(self.document(doc))?;
            if let IndexContent::Article(a) = &doc.content {
                for p in self.passage_documents(&doc.project_id, a) {
                    w.add_document(p)?;
                }
            }
        }
        Ok(())
    }

    /// Removes these documents, if present. Visible after the next [`Engine::commit`].
    pub fn delete(&self, ids: &[String]) {
        let w = self.writer();
        for id in ids {
            w.delete_term(Term::from_field_text(self.fields.id, id));
        }
    }

    /// Removes every document. Visible after the next [`Engine::commit`].
    pub fn clear(&self) -> Result<()> {
        self.writer().delete_all_documents()?;
        Ok(())
    }

    /// Makes every pending change durable and visible, recording `position` with them: after a
    /// crash the index reopens at exactly this position.
    pub fn commit(&self, position: &Position) -> Result<()> {
        let payload = serde_json::json!({
            "version": SCHEMA_VERSION,
            "feed_id": position.feed_id,
            "seq": position.seq,
        })
        .to_string();
        let mut w = self.writer();
        let mut prepared = w.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// Drops uncommitted changes (after a failed batch).
    pub fn rollback(&self) -> Result<()> {
        self.writer().rollback()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::passage_heading;

    #[test]
    fn a_passage_heading_that_repeats_the_title_is_left_out() {
        let trail = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(passage_heading("chmod", &trail(&["chmod"])), "");
        assert_eq!(
            passage_heading("Install", &trail(&["Install", "On Windows"])),
            "On Windows"
        );
        assert_eq!(
            passage_heading("git reset", &trail(&["Git-Reset", "Undo"])),
            "Undo"
        );
        assert_eq!(
            passage_heading("Install", &trail(&["Setup", "Install"])),
            "Setup › Install"
        );
        assert_eq!(passage_heading("Install", &[]), "");
    }
}
