//! Builds the widget package into `pkg/` (wasm32 build, wasm-bindgen, loader, npm metadata), the
//! `chatlet` CLI, and trains every bot in `bots/` into `target/models/`.

use crate::command::Cmd;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Files copied from `www/` into the package as they are.
const WWW_FILES: &[&str] = &["chatlet.js", "index.js", "index.d.ts"];

pub(crate) fn chatlet_bin(root: &Path) -> PathBuf {
    root.join("target").join("debug").join("chatlet")
}

pub(crate) fn models_dir(root: &Path) -> PathBuf {
    root.join("target").join("models")
}

/// Widget package, CLI, and trained example bots.
pub(crate) fn build_all(root: &Path) -> Result<()> {
    widget_package(root)?;
    Cmd::new("cargo")
        .args(["build", "-p", "chatlet-cli"])
        .run()?;
    train_bots(root)
}

pub(crate) fn widget_package(root: &Path) -> Result<()> {
    let pkg = root.join("pkg");
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg).context("cannot clear pkg/")?;
    }
    wasm_build(root, &[], &pkg, "chatlet_widget")?;
    // The server-synced widget, loaded instead when a page sets `server`.
    wasm_build(
        root,
        &["--features", "sync"],
        &pkg.join("sync"),
        "chatlet_sync",
    )?;
    // The authors' playground: the same widget plus the trainer, kept out of the npm package.
    wasm_build(
        root,
        &["--features", "playground"],
        &pkg.join("playground"),
        "chatlet_playground",
    )?;
    for file in WWW_FILES {
        std::fs::copy(root.join("www").join(file), pkg.join(file))
            .with_context(|| format!("cannot copy www/{file}"))?;
    }
    std::fs::write(pkg.join("package.json"), package_json(root)?)
        .context("cannot write pkg/package.json")?;
    std::fs::copy(root.join("README.md"), pkg.join("README.md"))
        .context("cannot copy README.md into pkg/")?;
    Ok(())
}

/// Builds the widget crate for wasm32 with `features`, binds it into `out_dir` as `out_name`.js
/// and `out_name`_bg.wasm, and shrinks the wasm.
fn wasm_build(root: &Path, features: &[&str], out_dir: &Path, out_name: &str) -> Result<()> {
    Cmd::new("cargo")
        .args([
            "build",
            "-p",
            "chatlet-widget",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-release",
        ])
        .args(features.iter().copied())
        .run()?;
    let wasm = root.join("target/wasm32-unknown-unknown/wasm-release/chatlet_widget.wasm");
    Cmd::new("wasm-bindgen")
        .args(["--target", "web", "--out-name", out_name, "--out-dir"])
        .arg(out_dir)
        .arg(&wasm)
        .run()?;
    optimize_wasm(root, &out_dir.join(format!("{out_name}_bg.wasm")))?;
    minify_glue(root, &out_dir.join(format!("{out_name}.js")))
}

/// Minifies wasm-bindgen's JS glue with terser (npm, in `xtask/`): about a third of its gzip
/// size, and the glue is downloaded with the wasm.
fn minify_glue(root: &Path, glue: &Path) -> Result<()> {
    let before = std::fs::metadata(glue)?.len();
    Cmd::new(root.join("xtask/node_modules/.bin/terser"))
        .arg(glue)
        .args(["--module", "--compress", "--mangle", "-o"])
        .arg(glue)
        .run()?;
    let after = std::fs::metadata(glue)?.len();
    println!("xtask: terser: {before} -> {after} bytes");
    Ok(())
}

/// Shrinks the wasm with `wasm-opt ... -Oz --converge` from npm's binaryen (installed in `xtask/` by setup;
/// Debian's binaryen 108 produces wasm that fails to load). The features are those rustc's
/// wasm32 target emits by default.
fn optimize_wasm(root: &Path, wasm: &Path) -> Result<()> {
    let wasm_opt = root.join("xtask/node_modules/.bin/wasm-opt");
    let before = std::fs::metadata(wasm)?.len();
    Cmd::new(&wasm_opt)
        .args([
            // Flattening and re-looping the control flow first lets -Oz find about 0.5 KB gzip
            // more (and costs some 15 s per build).
            "--flatten",
            "--rereloop",
            "-Oz",
            "--converge",
            // wasm-ld puts nothing below address 1024 (data starts at 1 MiB, after the stack,
            // which reaches the low 1K only when it overflows): binaryen may then fold address
            // arithmetic into load/store offsets. About 0.7 KB gzip.
            "--low-memory-unused",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg(wasm)
        .arg("-o")
        .arg(wasm)
        .run()?;
    let after = std::fs::metadata(wasm)?.len();
    println!("xtask: wasm-opt: {before} -> {after} bytes");
    Ok(())
}

/// The npm manifest, generated so that `pkg/` is never edited by hand.
fn package_json(root: &Path) -> Result<String> {
    let manifest =
        std::fs::read_to_string(root.join("Cargo.toml")).context("cannot read Cargo.toml")?;
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .map(|v| v.trim_end_matches('"'))
        .unwrap_or("0.0.0");
    Ok(format!(
        r#"{{
  "name": "chatlet",
  "version": "{version}",
  "description": "An offline-first chatbot widget: NLU and dialogue run as WebAssembly in the browser",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "index.js",
  "module": "index.js",
  "types": "index.d.ts",
  "exports": {{
    ".": {{ "types": "./index.d.ts", "default": "./index.js" }},
    "./loader": "./chatlet.js",
    "./chatlet_widget_bg.wasm": "./chatlet_widget_bg.wasm",
    "./sync/chatlet_sync_bg.wasm": "./sync/chatlet_sync_bg.wasm"
  }},
  "files": ["index.js", "index.d.ts", "chatlet.js", "chatlet_widget.js", "chatlet_widget.d.ts", "chatlet_widget_bg.wasm", "sync/chatlet_sync.js", "sync/chatlet_sync.d.ts", "sync/chatlet_sync_bg.wasm", "README.md"],
  "sideEffects": false,
  "keywords": ["chatbot", "chat-widget", "wasm", "nlu", "offline", "chinese"]
}}
"#
    ))
}

/// Trains every bot folder `bots/<name>/` (its `bot.yaml` and other files) into
/// `target/models/<name>.chatlet`.
pub(crate) fn train_bots(root: &Path) -> Result<()> {
    let models = models_dir(root);
    for bot in bot_files(root)? {
        let name = bot
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let folder = bot.parent().unwrap_or(root);
        Cmd::new(chatlet_bin(root))
            .arg("train")
            .arg(folder)
            .arg("-o")
            .arg(models.join(format!("{name}.chatlet")))
            .run()?;
    }
    Ok(())
}

/// Every `bots/*/bot.yaml`, sorted.
pub(crate) fn bot_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut bots: Vec<PathBuf> = std::fs::read_dir(root.join("bots"))
        .context("cannot list bots/")?
        .filter_map(|entry| Some(entry.ok()?.path().join("bot.yaml")))
        .filter(|path| path.is_file())
        .collect();
    bots.sort();
    Ok(bots)
}
