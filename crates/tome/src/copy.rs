//! `tome copy`: moves a whole instance between databases, with a progress line on stderr and a
//! verification table (or `--json`) on stdout.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use tome_store::Location;
use tome_store::copy::{CopyOptions, CopyReport, Progress};

use crate::cli::DbArgs;

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Source database URL (`sqlite://PATH` or `postgres://…`); default: the database this
    /// command is pointed at (`--database-url`, else `--data-dir`).
    #[arg(long)]
    pub from: Option<String>,
    /// Target database URL (`sqlite://PATH` or `postgres://…`).
    #[arg(long)]
    pub to: String,
    /// Replace the target's content if it has any. The old content is deleted in the same
    /// transaction as the copy, so a failed copy still leaves it as it was.
    #[arg(long)]
    pub force: bool,
    /// Rows per batch.
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,
}

pub async fn run(db: DbArgs, args: CopyArgs, as_json: bool) -> Result<()> {
    let from = match &args.from {
        Some(url) => Location::Url(url.clone()),
        None => db.location(),
    };
    let to = Location::Url(args.to.clone());
    let options = CopyOptions {
        force: args.force,
        batch_size: args.batch_size as usize,
        open: db.open_options(),
    };
    let mut bar = Bar::new();
    let report = tome_store::copy::copy(&from, &to, &options, &mut |p| bar.update(p))
        .await
        .inspect_err(|_| bar.clear())
        .with_context(|| {
            format!(
                "copying {} to {}; the target was left as it was",
                from.redacted(),
                to.redacted()
            )
        })?;
    bar.clear();
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report_json(&from, &to, &report))?
        );
    } else {
        print_report(&from, &to, &report);
    }
    Ok(())
}

fn report_json(from: &Location, to: &Location, r: &CopyReport) -> serde_json::Value {
    let tables: Vec<_> = r
        .tables
        .iter()
        .map(|t| {
            json!({
                "table": t.table, "source_rows": t.source_rows, "target_rows": t.target_rows,
                "source_checksum": t.source_checksum, "target_checksum": t.target_checksum,
                "match": t.source_rows == t.target_rows && t.source_checksum == t.target_checksum,
            })
        })
        .collect();
    json!({
        "from": from.redacted(),
        "to": to.redacted(),
        "rows": r.tables.iter().map(|t| t.target_rows).sum::<i64>(),
        "replaced_rows": r.replaced_rows,
        "elapsed_ms": r.elapsed.as_millis() as u64,
        "verified": true,
        "tables": tables,
    })
}

fn print_report(from: &Location, to: &Location, r: &CopyReport) {
    let rows: i64 = r.tables.iter().map(|t| t.target_rows).sum();
    println!(
        "Copied {rows} rows from {} to {} in {:.1} s.",
        from.redacted(),
        to.redacted(),
        r.elapsed.as_secs_f64()
    );
    if r.replaced_rows > 0 {
        println!("Replaced {} rows the target held before.", r.replaced_rows);
    }
    println!();
    println!(
        "{:<16} {:>10} {:>10}  {:<16}  verified",
        "table", "source", "target", "checksum"
    );
    for t in &r.tables {
        let ok = t.source_rows == t.target_rows && t.source_checksum == t.target_checksum;
        println!(
            "{:<16} {:>10} {:>10}  {:<16}  {}",
            t.table,
            t.source_rows,
            t.target_rows,
            &t.target_checksum[..16.min(t.target_checksum.len())],
            if ok { "yes" } else { "NO" }
        );
    }
}

/// A one-line progress bar on stderr, redrawn at most ten times a second; when stderr is not a
/// terminal (a log), one line per copied table instead.
struct Bar {
    tty: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl Bar {
    fn new() -> Bar {
        Bar {
            tty: std::io::stderr().is_terminal(),
            last: None,
            drawn: false,
        }
    }

    fn update(&mut self, p: Progress) {
        if !self.tty {
            if !p.verifying && p.table_done == p.table_total {
                eprintln!("copied {}: {} rows", p.table, p.table_total);
            }
            return;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100) && p.done < p.total)
        {
            return;
        }
        self.last = Some(Instant::now());
        let width = 30;
        let filled = (p.done * width).checked_div(p.total).unwrap_or(width) as usize;
        let stage = if p.verifying { "verifying" } else { "copying" };
        let line = format!(
            "\r[{}{}] {:>3}%  {stage} {} ({}/{})",
            "#".repeat(filled),
            "-".repeat(width as usize - filled),
            (p.done * 100).checked_div(p.total).unwrap_or(100),
            p.table,
            p.table_done,
            p.table_total,
        );
        let mut err = std::io::stderr();
        let _ = write!(err, "{line:<100}");
        let _ = err.flush();
        self.drawn = true;
    }

    fn clear(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r{:<100}\r", "");
            self.drawn = false;
        }
    }
}
