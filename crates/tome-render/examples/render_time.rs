//! Times `tome_render::render` on one Markdown file: `render_time FILE [ITERATIONS]`.
//! Prints the body size and p50 / p99 / max milliseconds per render (after one warm-up render
//! that also loads the grammars). Used by bench/hosted.sh.

use std::time::Instant;

/// The server's allocator (`crates/tome/src/main.rs`), so this times the render the server does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: render_time FILE [ITERATIONS]");
        std::process::exit(2);
    };
    let iterations: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200);
    let markdown = match std::fs::read_to_string(&path) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(1);
        }
    };
    let warm = tome_render::render(&markdown);
    let mut times: Vec<f64> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            let out = tome_render::render(&markdown);
            std::hint::black_box(out);
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((p / 100.0) * times.len() as f64).ceil().max(1.0) as usize - 1];
    println!(
        "bytes {} html_bytes {} iterations {iterations} p50_ms {:.3} p99_ms {:.3} max_ms {:.3}",
        markdown.len(),
        warm.html.len(),
        pct(50.0),
        pct(99.0),
        times[times.len() - 1]
    );
}
