//! Storage for the assistant: threads (`thr_…`) with their messages, the credit charge of an
//! answered message, and the reads behind the assistant analytics endpoints.
//!
//! A thread belongs to one project and one knowledge base; every method takes the caller's
//! `project_id`, and a thread of another project is `NotFound(Thread)`, exactly like an unknown
//! one. Timestamps are ISO 8601 UTC with milliseconds (`tome_core::time::iso_millis`), the
//! docs-platform endpoints' convention.

use async_trait::async_trait;
use tome_core::ValidationError;
use tome_core::assistant::{Conversation, NewExchange, Role, SourceRef, Thread, ThreadMessage};
use tome_core::credits::Charge;
use tome_core::id;
use tome_core::model::KnowledgeBase;

use crate::{Page, PageRequest, Result};

/// Restricts an analytics list to a period: `from`/`to` are dates (`YYYY-MM-DD`, inclusive) or
/// `None` for open ends. A value that is not such a date is refused as `Invalid` on the wire's
/// field name (`dateFrom`, `dateTo`).
#[derive(Debug, Clone, Default)]
pub struct DateRange {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A credit charge made before an answer was produced: refunded if the message produced nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The charge's `credit_ledger` row (its `seq`); opaque to callers.
    pub id: i64,
}

#[async_trait]
pub trait AssistantStore: Send + Sync {
    /// The project's knowledge base with this slug (any visibility), if any.
    async fn kb_by_slug(&self, project_id: &str, slug: &str) -> Result<Option<KnowledgeBase>>;

    /// Starts a thread of the KB for the asker `fp`. `NotFound(KnowledgeBase)` for a KB that is
    /// not the project's.
    async fn create_thread(&self, project_id: &str, kb_id: &str, fp: &str) -> Result<Thread>;
    /// `NotFound(Thread)` for an unknown thread, another project's, or another KB's.
    async fn get_thread(&self, project_id: &str, kb_id: &str, thread_id: &str) -> Result<Thread>;
    /// The thread's messages, oldest first. `NotFound(Thread)` as [`AssistantStore::get_thread`]
    /// but without the KB check (the analytics read threads of any KB of the project).
    async fn thread_messages(
        &self,
        project_id: &str,
        thread_id: &str,
    ) -> Result<(Thread, Vec<ThreadMessage>)>;
    /// Appends a question and its answer to the thread (two messages, in one transaction) and
    /// bumps the thread's `updated_at`. Returns the stored assistant message.
    async fn append_exchange(
        &self,
        project_id: &str,
        thread_id: &str,
        exchange: NewExchange,
    ) -> Result<ThreadMessage>;

    /// Charges the project for one assistant message before any work is done: `SpendingCap`
    /// (402) when the charge would exceed the month's cap, checked and recorded in one write
    /// transaction (no overspend under concurrency, across nodes). The charge is a
    /// `credit_ledger` row like any other, so `usage` reports it under its action at once.
    async fn reserve_credits(&self, project_id: &str, charge: Charge) -> Result<Reservation>;
    /// Takes back a reservation whose message produced nothing: deletes its ledger row, which
    /// must be the project's and an `assistant_message` charge (anything else is left alone).
    /// Idempotent.
    async fn refund_credits(&self, project_id: &str, reservation: &Reservation) -> Result<()>;

    /// `GET /v1/analytics/{projectId}/assistant`: each assistant message of the project with
    /// the question it answered (the thread's user message just before it, which also gives
    /// `page_url`), newest first, answered within `range`. Keyset-paginated on the answer's
    /// `seq` (`Position { sort: 0, seq }`), so answers recorded while a client pages are never
    /// repeated or skipped among older ones. `Invalid` for a malformed date.
    async fn list_conversations(
        &self,
        project_id: &str,
        range: &DateRange,
        page: PageRequest,
    ) -> Result<Page<Conversation>>;

    /// Deletes threads (with their messages) of every project last updated before `before` (ISO
    /// timestamp with milliseconds, as stored); returns how many. Deletes in batches, one write
    /// transaction each, so a large prune never holds the write lock for long.
    async fn prune_threads(&self, before: &str) -> Result<u64>;
}

impl DateRange {
    /// The range as bounds on ISO-millisecond `created_at` text: `created_at >= lower` and
    /// `created_at <= upper`, both inclusive (`to` reaches the last millisecond of its day).
    pub(crate) fn bounds(&self) -> Result<(Option<String>, Option<String>)> {
        let lower = self
            .from
            .as_deref()
            .map(|d| check_date("dateFrom", d).map(|d| format!("{d}T00:00:00.000Z")))
            .transpose()?;
        let upper = self
            .to
            .as_deref()
            .map(|d| check_date("dateTo", d).map(|d| format!("{d}T23:59:59.999Z")))
            .transpose()?;
        Ok((lower, upper))
    }
}

/// `date` if it has the shape `YYYY-MM-DD` with a month 01–12 and a day 01–31 (finer calendar
/// checks do not matter to a text comparison).
fn check_date<'a>(field: &str, date: &'a str) -> Result<&'a str> {
    let number = |at: std::ops::Range<usize>| {
        date.get(at)
            .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse::<u32>().ok())
    };
    let dashes = date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-';
    if dashes
        && number(0..4).is_some()
        && number(5..7).is_some_and(|m| (1..=12).contains(&m))
        && number(8..10).is_some_and(|d| (1..=31).contains(&d))
    {
        Ok(date)
    } else {
        Err(ValidationError::new(field, "must be a date YYYY-MM-DD").into())
    }
}

/// How many threads [`AssistantStore::prune_threads`] deletes per write transaction, so a large
/// first prune does not hold the write lock for long.
pub(crate) const PRUNE_BATCH: i64 = 500;

/// A message's `sources` column.
pub(crate) fn sources_json(sources: &[SourceRef]) -> Result<String> {
    Ok(serde_json::to_string(sources)?)
}

/// The stored messages of `exchange` to `thread`, recorded at `now_millis`, with fresh IDs: the
/// question, then the answer one millisecond later. Both come after everything already in the
/// thread (the thread's `updated_at` is its last answer's time), even when exchanges follow each
/// other within a millisecond or the clock steps back, so a thread's messages never share a
/// timestamp and sort in conversation order by time as well as by `seq`. The answer's time is
/// the thread's new `updated_at`.
pub(crate) fn exchange_messages(
    thread: &Thread,
    exchange: NewExchange,
    now_millis: i64,
) -> (ThreadMessage, ThreadMessage) {
    let asked =
        parse_iso_millis(&thread.updated_at).map_or(now_millis, |last| now_millis.max(last + 1));
    let answered = tome_core::time::iso_millis(asked + 1);
    let asked = tome_core::time::iso_millis(asked);
    let question = ThreadMessage {
        id: id::new_id(id::MESSAGE),
        thread_id: thread.id.clone(),
        role: Role::User,
        content: exchange.question,
        sources: Vec::new(),
        response_type: None,
        resolution: None,
        page_url: exchange.page_url,
        created_at: asked,
    };
    let answer = ThreadMessage {
        id: id::new_id(id::MESSAGE),
        thread_id: thread.id.clone(),
        role: Role::Assistant,
        content: exchange.answer,
        sources: exchange.sources,
        response_type: Some(exchange.response_type),
        resolution: Some(exchange.resolution),
        page_url: None,
        created_at: answered,
    };
    (question, answer)
}

/// The Unix milliseconds of an [`tome_core::time::iso_millis`] timestamp
/// (`2026-01-15T10:30:00.123Z`), or `None` for text of another shape.
pub(crate) fn parse_iso_millis(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let shaped = b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z';
    if !shaped {
        return None;
    }
    let field = |at: std::ops::Range<usize>| -> Option<i64> {
        let digits = s.get(at)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let (y, m, d) = (field(0..4)?, field(5..7)?, field(8..10)?);
    let (hh, mm, ss, ms) = (
        field(11..13)?,
        field(14..16)?,
        field(17..19)?,
        field(20..23)?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    // Howard Hinnant's `days_from_civil`, the inverse of the formatter's `civil_from_days`.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tome_core::time::iso_millis;

    #[test]
    fn iso_millis_parse_back() {
        for millis in [
            0,
            1,
            999,
            951_782_400_000,
            1_768_473_000_123,
            1_709_251_199_999,
            4_102_444_800_000,
        ] {
            assert_eq!(
                parse_iso_millis(&iso_millis(millis)),
                Some(millis),
                "{millis}"
            );
        }
        for bad in [
            "",
            "2026-01-15 10:30:00",
            "2026-01-15T10:30:00Z",
            "2026-01-15T10:30:00.12Z",
            "2026-13-15T10:30:00.123Z",
            "2026-01-15T24:30:00.123Z",
            "2026-01-15T10:30:0+.123Z",
            "2026-01-15T10:30:00.123+",
        ] {
            assert_eq!(parse_iso_millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn date_ranges_cover_whole_days() {
        let range = DateRange {
            from: Some("2026-03-01".into()),
            to: Some("2026-03-02".into()),
        };
        assert_eq!(
            range.bounds().unwrap(),
            (
                Some("2026-03-01T00:00:00.000Z".into()),
                Some("2026-03-02T23:59:59.999Z".into())
            )
        );
        assert_eq!(DateRange::default().bounds().unwrap(), (None, None));
        for bad in [
            "2026-03-1",
            "2026-00-01",
            "2026-01-32",
            "2026/01/01",
            "２０２６-01-01",
        ] {
            let range = DateRange {
                from: Some(bad.into()),
                to: None,
            };
            assert!(
                matches!(range.bounds(), Err(crate::StoreError::Invalid(ref e)) if e.field == "dateFrom"),
                "{bad}"
            );
        }
    }

    fn thread(updated_at: &str) -> Thread {
        Thread {
            id: "thr_x".into(),
            project_id: "prj_x".into(),
            kb_id: "kb_x".into(),
            fp: "fp".into(),
            created_at: updated_at.into(),
            updated_at: updated_at.into(),
        }
    }

    fn exchange() -> NewExchange {
        NewExchange {
            question: "q".into(),
            page_url: None,
            answer: "a".into(),
            sources: Vec::new(),
            response_type: tome_core::assistant::ResponseType::Answer,
            resolution: tome_core::assistant::Resolution::Answered,
        }
    }

    #[test]
    fn exchanges_come_after_the_thread_even_when_the_clock_does_not() {
        let now = 1_768_473_000_000;
        // An idle thread: the clock decides.
        let (q, a) = exchange_messages(&thread(&iso_millis(now - 5000)), exchange(), now);
        assert_eq!(
            (q.created_at, a.created_at),
            (iso_millis(now), iso_millis(now + 1))
        );
        // Answered this very millisecond, or "later" than the clock: after the last answer.
        for last in [now, now + 7] {
            let (q, a) = exchange_messages(&thread(&iso_millis(last)), exchange(), now);
            assert_eq!(
                (q.created_at, a.created_at),
                (iso_millis(last + 1), iso_millis(last + 2))
            );
        }
    }
}
