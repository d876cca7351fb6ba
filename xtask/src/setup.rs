//! Installs what a fresh machine lacks, from package registries only: the wasm32 target (rustup),
//! the wasm-bindgen CLI at exactly the Cargo.lock version (crates.io), Chromium, chromedriver and a
//! CJK font (Debian), wasm-opt (npm binaryen, in xtask/) and the end-to-end tests' npm packages
//! (npm registry).

use crate::command::Cmd;
use anyhow::{Context, Result, bail};
use std::path::Path;

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Without a CJK font, Chinese renders as empty boxes in screenshots.
const CJK_FONT_PACKAGE: &str = "fonts-noto-cjk";

/// What building the widget needs: the wasm32 target, the matching wasm-bindgen CLI, and
/// wasm-opt (npm's binaryen, in `xtask/node_modules`).
pub(crate) fn build_tools(root: &Path) -> Result<()> {
    wasm_target()?;
    wasm_bindgen_cli(root)?;
    npm_packages(&root.join("xtask"))
}

/// Everything `cargo xtask test` needs on top of the build tools.
pub(crate) fn test_tools(root: &Path) -> Result<()> {
    build_tools(root)?;
    browser()?;
    npm_packages(&root.join("tests").join("e2e"))
}

fn wasm_target() -> Result<()> {
    let installed = Cmd::new("rustup")
        .args(["target", "list", "--installed"])
        .read()
        .unwrap_or_default();
    if installed
        .lines()
        .any(|t| t.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    Cmd::new("rustup")
        .args(["target", "add", "wasm32-unknown-unknown"])
        .run()
}

/// The wasm-bindgen version in Cargo.lock; the CLI must match it exactly.
pub(crate) fn locked_wasm_bindgen_version(root: &Path) -> Result<String> {
    let lock =
        std::fs::read_to_string(root.join("Cargo.lock")).context("cannot read Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(version.trim_end_matches('"').to_owned());
        }
    }
    bail!("Cargo.lock has no wasm-bindgen package")
}

fn wasm_bindgen_cli(root: &Path) -> Result<()> {
    let version = locked_wasm_bindgen_version(root)?;
    let installed = Cmd::new("wasm-bindgen")
        .arg("--version")
        .read()
        .unwrap_or_default();
    if installed.split_whitespace().nth(1) == Some(version.as_str()) {
        return Ok(());
    }
    // `--locked` fails for this crate here; an exact `=` version pins it instead.
    Cmd::new("cargo")
        .args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &format!("={version}"),
        ])
        .run()
}

fn browser() -> Result<()> {
    let font_installed = Cmd::new("dpkg-query")
        .args(["-W", "-f=${Status}", CJK_FONT_PACKAGE])
        .read()
        .unwrap_or_default();
    if Path::new(CHROMIUM).exists()
        && Path::new(CHROMEDRIVER).exists()
        && font_installed.contains("install ok installed")
    {
        return Ok(());
    }
    let as_root = Cmd::new("id")
        .arg("-u")
        .read()
        .is_some_and(|id| id.trim() == "0");
    let apt = |args: &[&str]| {
        let cmd = if as_root {
            Cmd::new("apt-get")
        } else {
            Cmd::new("sudo").arg("apt-get")
        };
        cmd.env("DEBIAN_FRONTEND", "noninteractive")
            .args(args)
            .run()
    };
    apt(&["update"])?;
    apt(&[
        "install",
        "-y",
        "--no-install-recommends",
        "chromium",
        "chromium-driver",
        CJK_FONT_PACKAGE,
    ])
}

fn npm_packages(dir: &Path) -> Result<()> {
    let installed_lock = dir.join("node_modules").join(".package-lock.json");
    let up_to_date = match (
        std::fs::metadata(&installed_lock),
        std::fs::metadata(dir.join("package-lock.json")),
    ) {
        (Ok(installed), Ok(wanted)) => installed.modified()? >= wanted.modified()?,
        _ => false,
    };
    if up_to_date {
        return Ok(());
    }
    Cmd::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .dir(dir)
        .run()
}
