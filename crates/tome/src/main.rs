//! `tome`: the server and the operator CLI, one binary.

mod archive;
mod cli;
mod copy;
mod mcp;
mod serve;
mod update;

use clap::Parser;

/// mimalloc instead of the system allocator: under load, glibc malloc's arena locks made the
/// runtime's threads wait on each other (bench/README.md, "Where tome's time goes").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
