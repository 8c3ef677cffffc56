//! Failing fast while PostgreSQL is down.
//!
//! sqlx's pool retries a refused connection, with backoff, until the acquire timeout: with the
//! database down, every request would hang for the whole timeout before its 503. [`Reach`] sits
//! in front of every acquire. An acquire that an idle connection answers at once never sees it.
//! One that takes longer than [`SLOW_ACQUIRE`] (the pool is opening a connection, or every
//! connection is busy) asks a probe — one direct connection attempt, shared by every caller
//! within [`PROBE_FRESH`] — whether the database answers at all: if it does, the acquire goes on
//! waiting as usual; if not, the request fails now. While the last probe said "down", requests
//! fail at once, and the first one after [`PROBE_FRESH`] probes again, so recovery needs no
//! restart and costs at most one connection attempt per interval however many requests arrive.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::{Result, StoreError};

/// An acquire slower than this makes the guard check that the database answers at all.
pub const SLOW_ACQUIRE: Duration = Duration::from_millis(50);
/// How long one probe's answer stands for every caller.
pub const PROBE_FRESH: Duration = Duration::from_millis(250);

/// What the last probe found.
#[derive(Debug, Clone, Copy)]
struct Probe {
    at: Instant,
    up: bool,
}

/// Whether the database answers, probed at most once per [`PROBE_FRESH`].
#[derive(Debug)]
pub struct Reach {
    connect: PgConnectOptions,
    /// A probe attempt gives up after this (the pool's acquire timeout).
    timeout: Duration,
    last: Mutex<Option<Probe>>,
    /// One probe at a time; callers that queue here reuse its answer.
    probing: tokio::sync::Mutex<()>,
}

impl Reach {
    pub fn new(connect: PgConnectOptions, timeout: Duration) -> Self {
        Reach {
            connect,
            timeout,
            last: Mutex::new(None),
            probing: tokio::sync::Mutex::new(()),
        }
    }

    fn last(&self) -> Option<Probe> {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self) -> Option<bool> {
        self.last()
            .filter(|p| p.at.elapsed() < PROBE_FRESH)
            .map(|p| p.up)
    }

    /// Whether the last probe found the database down (and nothing has reached it since).
    fn known_down(&self) -> bool {
        self.last().is_some_and(|p| !p.up)
    }

    fn record(&self, up: bool) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(Probe {
            at: Instant::now(),
            up,
        });
    }

    /// Whether the database accepts a connection now (or did within [`PROBE_FRESH`]).
    async fn answers(&self) -> bool {
        if let Some(up) = self.fresh() {
            return up;
        }
        let _one = self.probing.lock().await;
        if let Some(up) = self.fresh() {
            return up;
        }
        let up = match tokio::time::timeout(self.timeout, PgConnection::connect_with(&self.connect))
            .await
        {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
                true
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "PostgreSQL probe failed");
                // An answer that refuses us (bad password, too many connections) is still an
                // answer: the pool reports the real error better than the guard would.
                matches!(e, sqlx::Error::Database(_))
            }
            Err(_) => false,
        };
        match (self.known_down(), up) {
            (true, true) => tracing::info!("PostgreSQL answers again"),
            (false, false) => {
                tracing::warn!("PostgreSQL does not answer; failing requests at once until it does")
            }
            _ => {}
        }
        self.record(up);
        up
    }

    /// Runs `acquire` (a pool acquire or `begin`), failing at once rather than after the whole
    /// acquire timeout when the database does not answer.
    pub async fn guard<T>(
        &self,
        acquire: impl std::future::Future<Output = sqlx::Result<T>>,
    ) -> Result<T> {
        if self.known_down() && !self.answers().await {
            return Err(unreachable());
        }
        let mut acquire = std::pin::pin!(acquire);
        if let Ok(done) = tokio::time::timeout(SLOW_ACQUIRE, &mut acquire).await {
            return Ok(done?);
        }
        if !self.answers().await {
            return Err(unreachable());
        }
        Ok(acquire.await?)
    }
}

fn unreachable() -> StoreError {
    StoreError::Unavailable(Box::new(std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "PostgreSQL does not answer",
    )))
}
