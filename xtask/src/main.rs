//! `cargo xtask`: all of chatlet's build automation. `demo` builds and serves the demo, `test` runs
//! every check CI runs, `build` only builds the widget package into `pkg/`, `bench` writes
//! `BENCHMARKS.md`. Each installs what is missing.

mod bench;
mod command;
mod load;
mod setup;
mod test_run;
#[cfg(test)]
mod tidy;
mod widget_build;

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  demo [--addr HOST:PORT]   build the widget and server, train the example bots, serve the demo (default 127.0.0.1:8080)
  test                      fmt, clippy, native tests, wasm tests in headless Chromium, end-to-end browser tests
  build                     build the widget package into pkg/ and train the example bots into target/models/
  bench                     benchmark chatlet on ../shared/datasets beside the peers; writes BENCHMARKS.md
  load [SESSIONS] [SECONDS] the server under load: WebSocket sessions with heartbeats, REST throughput
";

fn main() {
    if let Err(err) = run() {
        eprintln!("xtask: error: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("demo") => {
            let addr = match args.get(1).map(String::as_str) {
                None => "127.0.0.1:8080".to_owned(),
                Some("--addr") => args
                    .get(2)
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("--addr needs HOST:PORT"))?,
                Some(other) => bail!("unknown argument {other:?}\n\n{USAGE}"),
            };
            demo(&root, &addr)
        }
        Some("test") => test_run::run_all(&root),
        Some("build") => {
            setup::build_tools(&root)?;
            widget_build::build_all(&root)
        }
        Some("bench") => bench::run(&root),
        Some("load") => {
            let sessions = args.get(1).map_or(Ok(10_000), |s| s.parse())?;
            let seconds = args.get(2).map_or(Ok(60), |s| s.parse())?;
            widget_build::build_all(&root)?;
            let model = load::rest_model(&root)?;
            let result = load::run(&root, sessions, seconds, &model)?;
            print!("{}", load::section(&result));
            Ok(())
        }
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown task {other:?}\n\n{USAGE}"),
    }
}

fn demo(root: &Path, addr: &str) -> Result<()> {
    setup::build_tools(root)?;
    widget_build::build_all(root)?;
    println!("\nxtask: demo ready — open http://{addr}/ (Ctrl-C stops the server)\n");
    command::Cmd::new(widget_build::chatlet_bin(root))
        .args(["serve", "--addr", addr, "--root"])
        .arg(root)
        .arg("--models")
        .arg(widget_build::models_dir(root))
        // The demo's history stays in the build folder rather than beside the sources.
        .arg("--db")
        .arg(root.join("target/demo-history.db"))
        .run()
}

/// The workspace root: the parent of this crate's folder.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
