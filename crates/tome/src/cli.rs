//! Command-line interface: `serve`, the operator commands for projects and keys, `copy`, and
//! `export`/`import` of a knowledge base.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;
use tome_core::input;
use tome_core::keys::{self, KeyKind};
use tome_core::model::Project;
use tome_store::{Location, OpenOptions, Store, StoreError};

#[derive(Debug, Parser)]
#[command(
    name = "tome",
    version,
    about = "Self-hosted knowledge base and help centre server"
)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbArgs,
    /// Print machine-readable JSON instead of friendly text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives. Every command takes these.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Directory of the embedded SQLite database.
    #[arg(
        long,
        global = true,
        env = "TOME_DATA_DIR",
        default_value = "./tome-data"
    )]
    pub data_dir: PathBuf,
    /// Database URL (`sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`);
    /// overrides --data-dir.
    #[arg(long, global = true, env = "TOME_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Database connections per process (PostgreSQL; SQLite's readers).
    #[arg(long, global = true, env = "TOME_DB_MAX_CONNECTIONS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: u32,
    /// Seconds a request waits for a PostgreSQL connection before failing with 503.
    #[arg(long, global = true, env = "TOME_DB_ACQUIRE_TIMEOUT", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub db_acquire_timeout: u64,
    /// Directory of the search index (default: `search` inside the data directory, or beside a
    /// `sqlite://` database file). Derived data: deleting it makes the next start rebuild it.
    /// Each node needs its own.
    #[arg(long, global = true, env = "TOME_SEARCH_DIR")]
    pub search_dir: Option<PathBuf>,
    /// SQLite `synchronous` level: `full` (a 2xx survives power loss) or `normal` (faster; may
    /// lose the last commits on power loss, never on a process crash).
    #[arg(
        long,
        global = true,
        env = "TOME_SQLITE_SYNCHRONOUS",
        default_value = "full"
    )]
    pub sqlite_synchronous: Synchronous,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Synchronous {
    Full,
    Normal,
}

impl DbArgs {
    /// Where the search index lives: `--search-dir`, else beside a `sqlite://` database file,
    /// else `search` inside `--data-dir` (with PostgreSQL, the data directory holds only this
    /// node's index).
    pub fn search_dir(&self) -> PathBuf {
        if let Some(dir) = &self.search_dir {
            return dir.clone();
        }
        let sqlite_file = self.database_url.as_deref().and_then(|url| {
            url.strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
        });
        match sqlite_file {
            Some(path) => Path::new(path)
                .parent()
                .unwrap_or(Path::new("."))
                .join("search"),
            None => self.data_dir.join("search"),
        }
    }

    /// Where update jobs keep work copies of sources: `sources` beside the search index's
    /// default place. Derived data: deleting it makes the next update fetch afresh.
    pub fn sources_dir(&self) -> PathBuf {
        let sqlite_file = self.database_url.as_deref().and_then(|url| {
            url.strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
        });
        match sqlite_file {
            Some(path) => Path::new(path)
                .parent()
                .unwrap_or(Path::new("."))
                .join("sources"),
            None => self.data_dir.join("sources"),
        }
    }

    /// `--database-url` if given, else the SQLite file in `--data-dir`.
    pub fn location(&self) -> Location {
        match &self.database_url {
            Some(url) => Location::Url(url.clone()),
            None => Location::DataDir(self.data_dir.clone()),
        }
    }

    pub fn open_options(&self) -> OpenOptions {
        OpenOptions {
            durable: matches!(self.sqlite_synchronous, Synchronous::Full),
            max_connections: self.db_max_connections,
            acquire_timeout: std::time::Duration::from_secs(self.db_acquire_timeout),
        }
    }

    pub async fn open(&self) -> Result<Arc<dyn Store>> {
        let location = self.location();
        tome_store::open(&location, &self.open_options())
            .await
            .with_context(|| format!("opening the database at {}", location.redacted()))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(Box<crate::serve::ServeArgs>),
    /// Manage projects (tenants).
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Write one knowledge base as Markdown files plus a manifest (directory or .tar.gz).
    Export(crate::archive::ExportArgs),
    /// Create a knowledge base from an export or a folder of Markdown files.
    Import(crate::archive::ImportArgs),
    /// Update knowledge bases from their sources (docs-as-code): queue, and with --wait run and
    /// follow to the end.
    Update(crate::update::UpdateArgs),
    /// Copy a whole instance to another database (SQLite ⇄ PostgreSQL), verified.
    Copy(crate::copy::CopyArgs),
    /// Serve the MCP server on stdin/stdout (for Claude Desktop, Cursor, VS Code), as one API key.
    Mcp(crate::mcp::McpArgs),
    /// Rebuild the search index from the database. Stop `tome serve` first: it holds the index
    /// (and already repairs a missing, damaged or outdated index when it starts).
    Reindex,
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project.
    Create {
        #[arg(long)]
        name: String,
        /// Monthly credit cap; unlimited when omitted.
        #[arg(long)]
        credit_cap: Option<i64>,
    },
    /// Rename a project or change its credit cap.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, conflicts_with = "no_credit_cap")]
        credit_cap: Option<i64>,
        /// Remove the credit cap.
        #[arg(long)]
        no_credit_cap: bool,
    },
    /// List projects.
    List,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key; its plaintext is printed once.
    Create {
        #[arg(long)]
        project: String,
        #[arg(long, value_enum)]
        kind: KindArg,
    },
    /// List a project's keys (metadata only).
    List {
        #[arg(long)]
        project: String,
    },
    /// Revoke a key; it stops working on the next request.
    Revoke { key_id: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    Admin,
    Assistant,
}

impl From<KindArg> for KeyKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Admin => KeyKind::Admin,
            KindArg::Assistant => KeyKind::Assistant,
        }
    }
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => crate::serve::run(cli.db, *args).await,
        Command::Project(cmd) => project(cli.db.open().await?, cmd, cli.json).await,
        Command::Key(cmd) => key(cli.db.open().await?, cmd, cli.json).await,
        Command::Export(args) => {
            tome_sync::archive::run_export(cli.db.open().await?, args.into(), cli.json).await
        }
        Command::Import(args) => {
            tome_sync::archive::run_import(cli.db.open().await?, args.into(), cli.json).await
        }
        Command::Update(args) => crate::update::run(cli.db, args, cli.json).await,
        Command::Copy(args) => crate::copy::run(cli.db, args, cli.json).await,
        Command::Mcp(args) => crate::mcp::run(cli.db, args).await,
        Command::Reindex => reindex(&cli.db, cli.json).await,
    }
}

async fn reindex(db: &DbArgs, as_json: bool) -> Result<()> {
    let store = db.open().await?;
    let dir = db.search_dir();
    let started = std::time::Instant::now();
    let options = tome_search::SearchOptions {
        dir: Some(dir.clone()),
        force_rebuild: true,
        foreground: true,
        ..Default::default()
    };
    let search = tome_search::Search::open(store, options)
        .await
        .with_context(|| format!("rebuilding the search index in {}", dir.display()))?;
    let docs = search.engine().num_docs();
    let secs = started.elapsed().as_secs_f64();
    if as_json {
        let v = json!({ "search_dir": dir, "documents": docs, "seconds": secs, "change_seq": search.applied_seq() });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "Rebuilt the search index in {}: {docs} articles and FAQs in {secs:.1}s.",
            dir.display()
        );
    }
    Ok(())
}

fn project_json(p: &Project) -> serde_json::Value {
    json!({
        "id": p.id, "name": p.name, "credit_cap": p.credit_cap,
        "allowed_domains": p.allowed_domains, "created_at": p.created_at, "updated_at": p.updated_at,
    })
}

fn print_project(p: &Project) {
    let cap = p
        .credit_cap
        .map_or("unlimited".to_string(), |c| format!("{c} credits/month"));
    println!(
        "{}  {}  (cap: {cap}, created {})",
        p.id, p.name, p.created_at
    );
}

/// Turns a storage error into a message an operator can act on.
fn friendly(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::NotFound(entity) => anyhow::anyhow!("{} not found", entity.label()),
        StoreError::Invalid(v) => anyhow::anyhow!("{v}"),
        other => anyhow::Error::new(other),
    }
}

async fn project(store: Arc<dyn Store>, cmd: ProjectCommand, as_json: bool) -> Result<()> {
    let p = match cmd {
        ProjectCommand::Create { name, credit_cap } => {
            let name = input::project_name(name)?;
            let cap = credit_cap.map(input::credit_cap).transpose()?;
            store.create_project(&name, cap).await.map_err(friendly)?
        }
        ProjectCommand::Update {
            id,
            name,
            credit_cap,
            no_credit_cap,
        } => {
            let patch = input::ProjectPatch {
                name: name.map(input::project_name).transpose()?,
                allowed_domains: None,
                credit_cap: match (credit_cap, no_credit_cap) {
                    (_, true) => Some(None),
                    (Some(c), false) => Some(Some(input::credit_cap(c)?)),
                    (None, false) => None,
                },
            };
            store.update_project(&id, patch).await.map_err(friendly)?
        }
        ProjectCommand::List => {
            let all = store.list_projects().await.map_err(friendly)?;
            if as_json {
                let list: Vec<_> = all.iter().map(project_json).collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if all.is_empty() {
                println!("No projects yet. Create one with: tome project create --name NAME");
            } else {
                all.iter().for_each(print_project);
            }
            return Ok(());
        }
    };
    if as_json {
        println!("{}", serde_json::to_string_pretty(&project_json(&p))?);
    } else {
        print_project(&p);
    }
    Ok(())
}

async fn key(store: Arc<dyn Store>, cmd: KeyCommand, as_json: bool) -> Result<()> {
    match cmd {
        KeyCommand::Create { project, kind } => {
            let generated = keys::generate_api_key(kind.into());
            let k = store
                .create_api_key(&project, kind.into(), &generated)
                .await
                .map_err(friendly)?;
            if as_json {
                let mut v = tome_http::dto::api_key_json(&k);
                v["key"] = json!(generated.plaintext);
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "Created {} key {} for project {}.",
                    k.kind.as_str(),
                    k.id,
                    k.project_id
                );
                println!(
                    "Store it now; it is not shown again:\n\n    {}\n",
                    generated.plaintext
                );
            }
        }
        KeyCommand::List { project } => {
            let list = store.list_api_keys(&project).await.map_err(friendly)?;
            if as_json {
                let v: Vec<_> = list.iter().map(tome_http::dto::api_key_json).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if list.is_empty() {
                println!("No keys for {project}.");
            } else {
                for k in &list {
                    let state = match &k.revoked_at {
                        Some(at) => format!("revoked {at}"),
                        None => "active".to_string(),
                    };
                    let used = k.last_used_at.as_deref().unwrap_or("never");
                    println!(
                        "{}  {:<9}  {}…  {state}, last used {used}",
                        k.id,
                        k.kind.as_str(),
                        k.key_prefix
                    );
                }
            }
        }
        KeyCommand::Revoke { key_id } => {
            if !tome_core::id::is_id(tome_core::id::API_KEY, &key_id) {
                bail!("{key_id:?} is not a key ID (key_…); see `tome key list --project ID`");
            }
            let k = store.revoke_api_key(&key_id).await.map_err(friendly)?;
            if as_json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&tome_http::dto::api_key_json(&k))?
                );
            } else {
                println!("Revoked {} ({}…).", k.id, k.key_prefix);
            }
        }
    }
    Ok(())
}
