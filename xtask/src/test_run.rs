//! `cargo xtask test`: every check CI runs, in order, then one line with the total test counts.
//! All steps run even after a failure, so one run shows every problem.

use crate::command::Cmd;
use crate::{setup, widget_build};
use anyhow::{Result, bail};
use std::path::Path;
use std::time::Instant;

/// Chromium flags this machine needs (no GPU, no network but loopback, root without a sandbox).
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    failed_steps: Vec<String>,
}

impl Tally {
    fn step(&mut self, name: &str, result: Result<()>) {
        if let Err(err) = result {
            eprintln!("xtask: step `{name}` failed: {err:#}");
            self.failed_steps.push(name.to_owned());
        }
    }

    /// Adds the counts printed by libtest / wasm-bindgen-test (`test result: ok. 3 passed; 0 failed; ...`)
    /// and by node's test runner (`# pass 3`, `# fail 0`).
    fn read_counts(&mut self, output: &str) {
        for line in output.lines() {
            if let Some(rest) = line.strip_prefix("test result: ") {
                for part in rest.split(';') {
                    let words: Vec<&str> = part.split_whitespace().collect();
                    let n = words
                        .iter()
                        .rev()
                        .nth(1)
                        .and_then(|n| n.parse::<u64>().ok())
                        .unwrap_or(0);
                    match words.last() {
                        Some(&"passed") => self.passed += n,
                        Some(&"failed") => self.failed += n,
                        _ => {}
                    }
                }
            } else if let Some(n) = line
                .strip_prefix("# pass ")
                .and_then(|n| n.trim().parse::<u64>().ok())
            {
                self.passed += n;
            } else if let Some(n) = line
                .strip_prefix("# fail ")
                .and_then(|n| n.trim().parse::<u64>().ok())
            {
                self.failed += n;
            }
        }
    }

    /// A step that is one test of its own.
    fn check(&mut self, name: &str, result: Result<()>) {
        if result.is_ok() {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        self.step(name, result);
    }

    fn teed(&mut self, name: &str, cmd: Cmd) {
        let (result, output) = cmd.run_teed();
        self.read_counts(&output);
        self.step(name, result);
    }
}

pub(crate) fn run_all(root: &Path) -> Result<()> {
    let started = Instant::now();
    setup::test_tools(root)?;
    let mut tally = Tally::default();

    tally.step(
        "fmt",
        Cmd::new("cargo")
            .args(["fmt", "--all", "--", "--check"])
            .run(),
    );
    tally.step(
        "clippy (native)",
        Cmd::new("cargo")
            .args([
                "clippy",
                "--workspace",
                "--exclude",
                "chatlet-widget",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])
            .run(),
    );
    tally.step(
        "clippy (wasm32)",
        Cmd::new("cargo")
            .args([
                "clippy",
                "-p",
                "chatlet-widget",
                "--target",
                "wasm32-unknown-unknown",
                "--all-targets",
                // Lints the playground's trainer and the server-synced build too.
                "--features",
                "playground sync",
            ])
            .args(["--", "-D", "warnings"])
            .run(),
    );
    tally.teed(
        "native tests",
        Cmd::new("cargo").args(["test", "--workspace", "--exclude", "chatlet-widget"]),
    );
    tally.teed("wasm tests (headless Chromium)", wasm_tests(root)?);

    let built = widget_build::build_all(root);
    let build_ok = built.is_ok();
    tally.step("build widget, CLI and bots", built);
    if build_ok {
        tally.teed("end-to-end tests (Playwright + Chromium)", e2e_tests(root)?);
        tally.check("load: 10,000 sockets held 60 s", load_test(root));
    }

    println!("\nxtask: finished in {:.0?}", started.elapsed());
    // CI reads this line: the totals over every test runner above.
    println!("tests: {} passed, {} failed", tally.passed, tally.failed);
    if !tally.failed_steps.is_empty() {
        bail!("failed steps: {}", tally.failed_steps.join(", "));
    }
    Ok(())
}

/// The server under the load (`cargo xtask load`): 10,000 WebSocket sessions with
/// heartbeats held for 60 s with no disconnect, and REST answering. Its figures are printed
/// here and recorded by `cargo xtask bench`; only the behaviour is checked.
fn load_test(root: &Path) -> Result<()> {
    const SESSIONS: usize = 10_000;
    let model = crate::load::rest_model(root)?;
    let result = crate::load::run(root, SESSIONS, 60, &model)?;
    print!("{}", crate::load::section(&result));
    crate::load::check(&result, SESSIONS)
}

/// `cargo test` for wasm32, run by wasm-bindgen-test-runner in headless Chromium via chromedriver.
fn wasm_tests(root: &Path) -> Result<Cmd> {
    let capabilities = format!(
        "{{\"goog:chromeOptions\": {{\"binary\": \"{}\", \"args\": [{}]}}}}",
        setup::CHROMIUM,
        CHROMIUM_ARGS
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let webdriver_json = root.join("target").join("webdriver.json");
    std::fs::create_dir_all(root.join("target"))?;
    std::fs::write(&webdriver_json, capabilities)?;
    Ok(Cmd::new("cargo")
        .args([
            "test",
            "-p",
            "chatlet-widget",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .env("CHROMEDRIVER", setup::CHROMEDRIVER)
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &webdriver_json)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120"))
}

/// Every `tests/e2e/*.test.js`, one file at a time, by node's test runner.
fn e2e_tests(root: &Path) -> Result<Cmd> {
    let dir = root.join("tests").join("e2e");
    let mut files: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".test.js"))
        .collect();
    files.sort();
    Ok(Cmd::new("node")
        .args(["--test", "--test-concurrency=1", "--test-timeout=180000"])
        .args(files)
        .dir(&dir)
        .env("CHATLET_BIN", widget_build::chatlet_bin(root))
        .env("CHATLET_MODELS", widget_build::models_dir(root))
        .env("CHROMIUM", setup::CHROMIUM))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_summed_across_runners() {
        let mut tally = Tally::default();
        tally.read_counts(
            "test result: ok. 19 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.04s\n\
             test result: FAILED. 3 passed; 2 failed; 1 ignored\n\
             # tests 4\n# pass 3\n# fail 1\n",
        );
        assert_eq!((tally.passed, tally.failed), (25, 3));
    }
}
