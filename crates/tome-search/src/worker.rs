//! The one thread that does all index work.
//!
//! Tokenizing, writing segments, merging and fsync are CPU work that no request waits for (a
//! search waits only when it needs the writes the thread is indexing). They run on this thread,
//! and on the threads tantivy starts from it, under Linux's `SCHED_IDLE` policy, which threads
//! inherit: the kernel preempts them the moment a request's thread wakes, so the background
//! commit that follows a write does not show in the latency of the reads around it.
//!
//! A lower nice value alone (+10, this module's first design) was not enough. Linux's scheduler
//! (EEVDF) protects a running thread's slice, whatever its nice value, before a woken thread
//! takes the core, and a request wakes three or four threads in turn; only a `SCHED_IDLE`
//! thread is preempted at once. Measured on the first public read after each of 800 writes, 5
//! alternating pairs: p99 2.2–3.3 ms at nice +10, 1.8–2.7 ms idle.
//!
//! The price is paid only on a saturated machine: idle threads still run (the kernel gives them
//! a sliver of a busy core), but slowly, so a search that must wait for a just-written change
//! waits longer — with both cores busy serving cached reads, write to searchable took p50 13 ms
//! and up to 220 ms (up to 70 ms at nice +10). Where `SCHED_IDLE` is refused, the thread falls
//! back to nice +10.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use crate::{Result, SearchError};

/// The nice value of the index thread where `SCHED_IDLE` is refused (0 is normal; 19 the lowest
/// priority).
pub const INDEX_NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// A handle to the index thread; the thread ends when the last handle is dropped.
#[derive(Debug)]
pub struct IndexThread {
    jobs: mpsc::Sender<Job>,
}

impl IndexThread {
    /// Starts the thread: at idle priority when `background`, else at the caller's.
    pub fn start(background: bool) -> Result<IndexThread> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("tome-index".into())
            .spawn(move || {
                if background {
                    lower_priority();
                }
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
    use thread_priority::ThreadPriority;
    use thread_priority::unix::{
        NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
        thread_native_id,
    };
    // On Linux the policy and the nice value belong to the thread: this lowers only the index
    // thread (and the threads it starts from now on), not the request workers.
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    let Err(e) = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle)
    else {
        return;
    };
    tracing::debug!(error = %e, "SCHED_IDLE refused; lowering the index thread's nice value");
    if let Err(e) = rustix::process::setpriority_process(None, INDEX_NICE) {
        tracing::debug!(error = %e, "cannot lower the index thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use thread_priority::unix::{
        NormalThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy,
    };

    use super::*;

    fn policy() -> ThreadSchedulePolicy {
        thread_schedule_policy().expect("the thread's scheduling policy")
    }

    #[tokio::test]
    async fn index_work_runs_at_idle_priority_and_requests_do_not() {
        let thread = IndexThread::start(true).expect("index thread");
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        let on_index = thread.run(|| Ok(policy())).await.expect("job");
        assert_eq!(on_index, idle);
        // What the index thread starts inherits its policy (tantivy's indexing and merge threads).
        let spawned = thread
            .run(|| Ok(std::thread::spawn(policy).join().expect("spawned thread")))
            .await
            .expect("job");
        assert_eq!(spawned, idle);
        assert_ne!(policy(), idle);
        // `tome reindex`, which someone waits on, indexes at normal priority.
        let foreground = IndexThread::start(false).expect("index thread");
        let on_index = foreground.run(|| Ok(policy())).await.expect("job");
        assert_eq!(on_index, policy());
    }
}
