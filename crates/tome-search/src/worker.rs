//! The one thread that does all index work.
//!
//! Tokenizing, writing segments, merging and fsync are CPU work that no request waits for (a
//! search waits only when it needs the writes the thread is indexing). They run on this thread,
//! and on the threads tantivy starts from it, at a lower CPU priority (nice +10 on Linux, which
//! threads inherit): when reads and index work compete for the cores, reads go first, so the
//! background commit that follows a write does not show in the tail latency of the reads around
//! it. Nice +10 still gets about a tenth of a busy core, so indexing is slowed, never starved.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use crate::{Result, SearchError};

/// The nice value of the index thread (0 is normal; 19 the lowest priority).
pub const INDEX_NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// A handle to the index thread; the thread ends when the last handle is dropped.
#[derive(Debug)]
pub struct IndexThread {
    jobs: mpsc::Sender<Job>,
}

impl IndexThread {
    pub fn start() -> Result<IndexThread> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("tome-index".into())
            .spawn(move || {
                lower_priority();
                for job in queue {
                    // A panicking job fails its caller (its result channel is dropped), not the
                    // thread.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                }
            })
            .map_err(|e| SearchError::Task(format!("cannot start the index thread: {e}")))?;
        Ok(IndexThread { jobs })
    }

    /// Runs `f` on the index thread and waits for its result without blocking the runtime.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(f());
            }))
            .map_err(|_| SearchError::Task("the index thread has stopped".into()))?;
        result
            .await
            .map_err(|_| SearchError::Task("an index task panicked".into()))?
    }
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // On Linux the nice value belongs to the thread: this lowers only the index thread (and the
    // threads it starts from now on), not the request workers.
    if let Err(e) = rustix::process::setpriority_process(None, INDEX_NICE) {
        tracing::debug!(error = %e, "cannot lower the index thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}
