//! Tidy checks, run by `cargo test -p xtask`: file headers, layout, docs and the architecture
//! invariants of ARCHITECTURE.md, turned into failing tests.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    crate::project_root()
}

/// Project files under `dir` with one of `extensions`, skipping build output and dependencies.
fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(
                name.as_str(),
                "target" | "node_modules" | "pkg" | ".git" | "dist"
            ) {
                found.extend(files(&path, extensions));
            }
        } else if extensions.iter().any(|e| name.ends_with(e)) {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn every_rust_file_says_what_it_is_for() {
    let missing: Vec<_> = files(&root(), &[".rs"])
        .into_iter()
        .filter(|p| !read(p).starts_with("//!"))
        .collect();
    assert!(
        missing.is_empty(),
        "these files must open with a `//!` line saying what they are for: {missing:#?}"
    );
}

#[test]
fn every_script_and_stylesheet_opens_with_a_comment() {
    let root = root();
    let mut paths = files(&root.join("www"), &[".js", ".css", ".ts"]);
    paths.extend(files(&root.join("tests"), &[".js"]));
    let missing: Vec<_> = paths
        .into_iter()
        .filter(|p| {
            let text = read(p);
            !(text.starts_with("//") || text.starts_with("/*") || text.starts_with("/**"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "these files must open with a comment saying what they are for: {missing:#?}"
    );
}

#[test]
fn no_vague_file_names() {
    let vague: Vec<_> = files(&root(), &[".rs", ".js"])
        .into_iter()
        .filter(|p| {
            let stem = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_lowercase();
            matches!(
                stem.as_str(),
                "utils" | "util" | "helpers" | "helper" | "misc" | "common"
            )
        })
        .collect();
    assert!(
        vague.is_empty(),
        "name files after what they hold: {vague:#?}"
    );
}

#[test]
fn no_ignored_tests() {
    let marker = ["#[", "ignore"].concat();
    let ignored: Vec<_> = files(&root(), &[".rs"])
        .into_iter()
        .filter(|p| read(p).contains(&marker))
        .collect();
    assert!(
        ignored.is_empty(),
        "fix or delete tests instead of ignoring them: {ignored:#?}"
    );
}

/// Every package `package` reaches in Cargo.lock (all targets, dev-dependencies included: stricter than needed).
fn dependencies(package: &str) -> Vec<String> {
    let lock = read(&root().join("Cargo.lock"));
    let mut graph: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let name = block
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .map(|n| n.trim_end_matches('"').to_owned());
        let deps = block
            .split("dependencies = [")
            .nth(1)
            .map(|d| d.split(']').next().unwrap_or_default())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                l.trim()
                    .trim_matches(|c| c == '"' || c == ',')
                    .split_whitespace()
                    .next()
                    .map(str::to_owned)
            })
            .filter(|d| !d.is_empty())
            .collect();
        if let Some(name) = name {
            graph.entry(name).or_default().extend::<Vec<String>>(deps);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut stack = vec![package.to_owned()];
    while let Some(next) = stack.pop() {
        for dep in graph.get(&next).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                stack.push(dep.clone());
            }
        }
    }
    assert!(
        graph.contains_key(package),
        "{package} is not in Cargo.lock"
    );
    seen.into_iter().collect()
}

#[test]
fn the_engine_is_pure_and_knows_nothing_of_its_bindings() {
    let deps = dependencies("chatlet-engine");
    assert!(
        deps.iter().any(|d| d == "postcard"),
        "the dependency walk must see the engine's real dependencies: {deps:?}"
    );
    for forbidden in [
        "wasm-bindgen",
        "js-sys",
        "web-sys",
        "leptos",
        "tokio",
        "axum",
        "getrandom",
        "rand",
        "chatlet-protocol",
    ] {
        assert!(
            !deps.iter().any(|d| d == forbidden),
            "chatlet-engine must not depend on {forbidden}"
        );
    }
}

#[test]
fn unsafe_code_is_only_the_engine_simd_dispatch() {
    // The workspace denies unsafe code; this is the one place allowed to opt out, for a
    // CPU-feature check that must call a `#[target_feature]` function (see ARCHITECTURE.md).
    let allowed = root().join("crates/chatlet-engine/src/simd.rs");
    let marker = ["allow(", "unsafe_code)"].concat();
    let mut opting_out: Vec<_> = files(&root(), &[".rs"])
        .into_iter()
        .filter(|p| read(p).contains(&marker))
        .collect();
    assert!(
        opting_out.contains(&allowed),
        "the check must see the known opt-out in {}",
        allowed.display()
    );
    opting_out.retain(|p| p != &allowed);
    assert!(
        opting_out.is_empty(),
        "unsafe code outside the engine's SIMD dispatch: {opting_out:#?}"
    );
    assert_eq!(
        read(&allowed).matches(&marker).count(),
        1,
        "one unsafe block in {}",
        allowed.display()
    );
    assert!(
        read(&root().join("Cargo.toml")).contains("unsafe_code = \"deny\""),
        "the workspace must deny unsafe code"
    );
}

#[test]
fn widget_and_server_never_depend_on_each_other() {
    let widget = dependencies("chatlet-widget");
    assert!(widget.iter().any(|d| d == "leptos"), "{widget:?}");
    assert!(
        !widget.iter().any(|d| d == "chatlet-server" || d == "axum"),
        "the widget must not depend on the server"
    );
    let server = dependencies("chatlet-server");
    assert!(server.iter().any(|d| d == "axum"), "{server:?}");
    assert!(
        !server
            .iter()
            .any(|d| d == "chatlet-widget" || d == "leptos"),
        "{server:?}"
    );
}

#[test]
fn architecture_md_maps_every_crate_and_folder() {
    let root = root();
    let architecture = read(&root.join("ARCHITECTURE.md"));
    let mut names: Vec<String> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .filter_map(|e| {
            Some(format!(
                "crates/{}",
                e.ok()?.file_name().into_string().ok()?
            ))
        })
        .collect();
    names.extend(
        [
            "src/",
            "www/",
            "pkg/",
            "tests/",
            "xtask/",
            "bots/",
            "index.html",
        ]
        .map(String::from),
    );
    for name in names {
        assert!(
            architecture.contains(&format!("`{name}")),
            "ARCHITECTURE.md's code map must mention `{name}`"
        );
    }
}

#[test]
fn readmes_open_with_the_two_commands() {
    let root = root();
    for readme in ["README.md", "README.zh-CN.md"] {
        let text = read(&root.join(readme));
        let demo = text
            .find("cargo xtask demo")
            .unwrap_or_else(|| panic!("{readme} lacks `cargo xtask demo`"));
        let test = text
            .find("cargo xtask test")
            .unwrap_or_else(|| panic!("{readme} lacks `cargo xtask test`"));
        assert!(
            demo < 1200 && test < 1500,
            "{readme} must open with the two commands"
        );
    }
    assert!(
        read(&root.join(".ci/run")).contains("cargo xtask test"),
        ".ci/run must run `cargo xtask test`"
    );
    assert!(
        read(&root.join(".gitignore")).lines().any(|l| l == "/pkg"),
        "pkg/ is generated and must be git-ignored"
    );
}
