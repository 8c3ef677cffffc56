//! Databases for tests: one fresh, isolated database per test, on the backend the test run
//! chose. SQLite (a temp directory) by default; PostgreSQL when `TOME_TEST_DATABASE_URL` is set,
//! as a new schema in that database, reached through `search_path`.
//!
//! Schemas are dropped when the [`TestDb`] is dropped (also when its test panics). A test process
//! killed outright leaves its schema behind; the first `TestDb` of every later run drops such
//! leftovers once they are [`STALE_AFTER`] old, so a shared database does not fill up.
//!
//! Creating and dropping schemas runs on a short-lived thread with its own runtime, so it works
//! from plain `#[test]`s and from inside `#[tokio::test]`s alike.

use std::ffi::OsString;
use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tempfile::TempDir;

use crate::Location;

/// The PostgreSQL URL tests run against (any database the user may create schemas in).
pub const DATABASE_URL_ENV: &str = "TOME_TEST_DATABASE_URL";
/// Set (to anything) where PostgreSQL tests must not be skipped, as in CI.
pub const REQUIRE_ENV: &str = "TOME_TEST_REQUIRE_POSTGRES";
/// Test schemas older than this are assumed abandoned by a killed run.
pub const STALE_AFTER: Duration = Duration::from_secs(6 * 3600);

const SCHEMA_PREFIX: &str = "tome_test_";

/// A database for one test; see the module docs.
pub struct TestDb {
    inner: Inner,
}

enum Inner {
    Sqlite(TempDir),
    Postgres {
        base_url: String,
        schema: String,
        /// A node's own files (the search index), which PostgreSQL does not hold.
        files: TempDir,
    },
}

/// The PostgreSQL URL from the environment, if tests should use PostgreSQL.
///
/// # Panics
/// When [`REQUIRE_ENV`] is set but [`DATABASE_URL_ENV`] is not: a CI run must not pass by
/// silently skipping PostgreSQL.
pub fn postgres_url() -> Option<String> {
    match std::env::var(DATABASE_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os(REQUIRE_ENV).is_none(),
                "{REQUIRE_ENV} is set but {DATABASE_URL_ENV} is not: PostgreSQL tests cannot run"
            );
            None
        }
    }
}

impl TestDb {
    /// A fresh database on the backend of this test run.
    pub fn new() -> TestDb {
        match postgres_url() {
            Some(url) => TestDb::postgres_at(&url),
            None => TestDb::sqlite(),
        }
    }

    /// A fresh SQLite database in a temp directory, whatever the test run's backend.
    pub fn sqlite() -> TestDb {
        TestDb {
            inner: Inner::Sqlite(tempfile::tempdir().expect("temp dir")),
        }
    }

    /// A fresh PostgreSQL schema, or `None` (after printing why) when no PostgreSQL is
    /// configured. For tests that only make sense on PostgreSQL.
    pub fn postgres(test: &str) -> Option<TestDb> {
        match postgres_url() {
            Some(url) => Some(TestDb::postgres_at(&url)),
            None => {
                // Straight to stderr: the test harness captures `eprintln!`, and a skip should
                // be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping {test}: {DATABASE_URL_ENV} is not set (PostgreSQL only)"
                );
                None
            }
        }
    }

    fn postgres_at(base_url: &str) -> TestDb {
        static SWEEP: Once = Once::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        // sqlx 0.9.0 does not set TCP_NODELAY (launchbadge/sqlx#4335), so a TLS handshake costs
        // ~100 ms of Nagle delays even on loopback. The suite opens thousands of connections;
        // unless the URL asks for TLS, tests talk plain TCP.
        let base_url = &if base_url.contains("sslmode=") {
            base_url.to_string()
        } else {
            let sep = if base_url.contains('?') { '&' } else { '?' };
            format!("{base_url}{sep}sslmode=disable")
        };
        SWEEP.call_once(|| sweep_stale(base_url));
        let schema = format!(
            "{SCHEMA_PREFIX}{}_{}_{}",
            tome_core::time::unix_now(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin(base_url, format!("CREATE SCHEMA {schema}"));
        TestDb {
            inner: Inner::Postgres {
                base_url: base_url.to_string(),
                schema,
                files: tempfile::tempdir().expect("temp dir"),
            },
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.inner, Inner::Postgres { .. })
    }

    /// `"sqlite"` or `"postgres"`, for messages.
    pub fn backend(&self) -> &'static str {
        if self.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Where `tome_store::open` finds this database.
    pub fn location(&self) -> Location {
        match &self.inner {
            Inner::Sqlite(dir) => Location::DataDir(dir.path().to_path_buf()),
            Inner::Postgres { .. } => Location::Url(self.url()),
        }
    }

    /// A database URL for this database: `sqlite://DIR/tome.db`, or the PostgreSQL URL with
    /// the schema as its `search_path`.
    pub fn url(&self) -> String {
        match &self.inner {
            Inner::Sqlite(dir) => format!("sqlite://{}", dir.path().join("tome.db").display()),
            Inner::Postgres {
                base_url, schema, ..
            } => {
                let sep = if base_url.contains('?') { '&' } else { '?' };
                // Commits need not wait for the disk: tests check behaviour, not PostgreSQL's
                // durability, and a suite of thousands of commits would mostly wait on fsync.
                // The application name tells this database's sessions apart (`Drop`).
                format!(
                    "{base_url}{sep}options[search_path]={schema}\
                     &options[synchronous_commit]=off&application_name={schema}"
                )
            }
        }
    }

    /// For PostgreSQL: this database's URL with the server's `host:port` replaced by `addr`
    /// (a proxy that a test can cut), and the original `host:port`.
    pub fn url_through(&self, addr: std::net::SocketAddr) -> Option<(String, String)> {
        let url = self.url();
        let (scheme, rest) = url.split_once("://")?;
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let host_start = authority.rfind('@').map_or(0, |at| at + 1);
        let mut server = authority[host_start..].to_string();
        if !server.contains(':') || server.ends_with(']') {
            server.push_str(":5432");
        }
        let via = format!(
            "{scheme}://{}{addr}{}",
            &authority[..host_start],
            &rest[end..]
        );
        self.is_postgres().then_some((via, server))
    }

    /// The arguments that point the `tome` binary at this database: `--data-dir DIR` for
    /// SQLite (the default way to run it), `--database-url URL` for PostgreSQL.
    pub fn cli_args(&self) -> Vec<OsString> {
        match &self.inner {
            Inner::Sqlite(dir) => vec!["--data-dir".into(), dir.path().into()],
            Inner::Postgres { files, .. } => vec![
                "--database-url".into(),
                self.url().into(),
                "--data-dir".into(),
                files.path().into(),
            ],
        }
    }

    /// The directory a node keeps its own files in (`--data-dir`): the SQLite database and the
    /// search index, or only the index with PostgreSQL.
    pub fn node_dir(&self) -> &std::path::Path {
        match &self.inner {
            Inner::Sqlite(dir) => dir.path(),
            Inner::Postgres { files, .. } => files.path(),
        }
    }

    /// The SQLite data directory, if this is SQLite.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        match &self.inner {
            Inner::Sqlite(dir) => Some(dir.path()),
            Inner::Postgres { .. } => None,
        }
    }
}

impl Default for TestDb {
    fn default() -> Self {
        TestDb::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Inner::Postgres {
            base_url, schema, ..
        } = &self.inner
        {
            // A test's runtime may end before its pool has flushed a dropped transaction's
            // `ROLLBACK` (sqlx sends it when the connection goes back to the pool, on a task of
            // that runtime): such a session sits idle in its transaction, holding its locks, and
            // `DROP SCHEMA` would wait for PostgreSQL to end it (60 s, `SESSION_SETTINGS`). The
            // test is over; end its sessions first.
            admin(
                base_url,
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                      WHERE application_name = '{schema}' AND pid <> pg_backend_pid();
                     DROP SCHEMA IF EXISTS {schema} CASCADE"
                ),
            );
        }
    }
}

/// Runs one statement on a new connection to `url`, on a thread of its own.
///
/// # Panics
/// When PostgreSQL cannot be reached or refuses: a configured test database that does not work
/// must fail the run loudly.
fn admin(url: &str, sql: String) {
    let url = url.to_string();
    let outcome = std::thread::spawn(move || -> Result<(), String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let mut conn = PgConnection::connect(&url)
                .await
                .map_err(|e| format!("cannot connect to {DATABASE_URL_ENV}: {e}"))?;
            sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                .execute(&mut conn)
                .await
                .map_err(|e| format!("{sql}: {e}"))?;
            conn.close().await.map_err(|e| e.to_string())
        })
    })
    .join();
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("test database: {e}"),
        Err(_) => panic!("test database: the admin thread panicked"),
    }
}

/// Drops test schemas left behind by killed runs (older than [`STALE_AFTER`]).
fn sweep_stale(url: &str) {
    let cutoff = tome_core::time::unix_now() - STALE_AFTER.as_secs() as i64;
    // The schema name carries its creation time: tome_test_<unix seconds>_<pid>_<n>.
    admin(
        url,
        format!(
            "DO $$ DECLARE s TEXT; BEGIN
               FOR s IN SELECT nspname FROM pg_namespace
                        WHERE nspname ~ '^{SCHEMA_PREFIX}[0-9]+_'
                          AND split_part(substr(nspname, {start}), '_', 1)::BIGINT < {cutoff}
               LOOP EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP;
             END $$",
            start = SCHEMA_PREFIX.len() + 1,
        ),
    );
}
