//! `cargo xtask load [SESSIONS] [SECONDS]`: the server under load on 127.0.0.1 — the release
//! `chatlet serve` and the `chatlet-load` generator (`xtask/load/`), each with the file limit
//! raised to the hard limit. Also the last section of BENCHMARKS.md.

use crate::command::Cmd;
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "load-test-admin-key";

/// A release server, killed on drop.
struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` in a shell whose open-file limit is raised to the hard limit first.
fn with_file_limit(command: &str) -> Command {
    let mut shell = Command::new("sh");
    shell.arg("-c").arg(format!(
        "ulimit -n \"$(ulimit -Hn)\" 2>/dev/null; exec {command}"
    ));
    shell
}

/// Where a load-test server keeps its history.
enum History<'a> {
    /// A SQLite file, as `chatlet serve` does by default.
    File(&'a Path),
    /// `--history-in-memory`.
    Memory,
}

/// A release server with `model` and its history where `history` says.
fn start_server(root: &Path, model: &Path, history: History<'_>) -> Result<Server> {
    let chatlet = root.join("target/release/chatlet");
    let history = match history {
        History::File(path) => format!("--db '{}'", path.display()),
        History::Memory => "--history-in-memory".to_owned(),
    };
    let command = format!(
        "'{}' serve --addr 127.0.0.1:0 --root '{}' --models '{}' --model '{}' --admin-key {KEY} \
         --rate-per-address 1000000 --rate-per-key 1000000 {history}",
        chatlet.display(),
        root.display(),
        root.join("target/models").display(),
        model.display()
    );
    let mut child = with_file_limit(&command)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start the server")?;
    let stdout = child.stdout.take().context("no server output")?;
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let Some(line) = lines.next() else {
            bail!("the server stopped before it served");
        };
        if let Some(rest) = line?.strip_prefix("chatlet serving http://") {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    Ok(Server { child, address })
}

/// Runs the generator; one that is still running after `limit` is killed and the run fails.
fn generator(root: &Path, args: &str, limit: Duration) -> Result<Value> {
    let binary = root.join("target/release/chatlet-load");
    let mut child = with_file_limit(&format!("'{}' {args}", binary.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run chatlet-load")?;
    let deadline = Instant::now() + limit;
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("chatlet-load {args} was still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "chatlet-load {args} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).with_context(|| format!("chatlet-load printed {text}"))
}

/// The model REST throughput is measured with: the CLINC150 model, trained here as
/// `cargo xtask bench` trains it (a few seconds) when `../shared/datasets` is beside the
/// project, else the demo bot.
pub(crate) fn rest_model(root: &Path) -> Result<PathBuf> {
    let data = root
        .parent()
        .map(|p| p.join("shared/datasets/clinc150"))
        .filter(|p| p.join("train.jsonl").is_file());
    let Some(data) = data else {
        return Ok(crate::widget_build::models_dir(root).join("shop-zh.chatlet"));
    };
    Cmd::new("cargo")
        .args(["build", "--release", "-p", "chatlet-cli"])
        .run()?;
    let dir = root.join("target/load");
    std::fs::create_dir_all(&dir)?;
    let model = dir.join("clinc150.chatlet");
    Cmd::new(root.join("target/release/chatlet"))
        .arg("train")
        .arg(data.join("train.jsonl"))
        .arg("--valid")
        .arg(data.join("valid.jsonl"))
        .arg("-o")
        .arg(&model)
        .run()
        .context("cannot train the CLINC150 model for the REST measurement")?;
    Ok(model)
}

/// Holds `sessions` sockets for `seconds`, then measures REST throughput with `model`.
pub(crate) fn run(root: &Path, sessions: usize, seconds: u64, model: &Path) -> Result<Value> {
    Cmd::new("cargo")
        .args([
            "build",
            "--release",
            "-p",
            "chatlet-cli",
            "-p",
            "chatlet-load",
        ])
        .run()?;
    let limit = String::from_utf8(
        Command::new("sh")
            .args(["-c", "ulimit -Hn"])
            .output()?
            .stdout,
    )?;
    let limit = limit.trim();
    if limit != "unlimited" && limit.parse::<usize>().unwrap_or(0) < sessions + 1000 {
        bail!(
            "{sessions} sessions need about {} open files per process; the hard limit here is {limit}",
            sessions + 1000
        );
    }
    // History in a SQLite file, as `chatlet serve` keeps it by default.
    let db = root.join("target/load-history.db");
    let remove_db = || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    };
    remove_db();
    let measured = measure_on_file(root, model, &db, sessions, seconds);
    remove_db();
    let (sockets, rest, rest_conversation) = measured?;
    // The same with history in the server's memory (`--history-in-memory`).
    let server = start_server(root, model, History::Memory)?;
    let rest_memory = generator(
        root,
        &format!("rest {} {KEY} 10 32", server.address),
        Duration::from_secs(60),
    )?;
    println!("xtask: rest with history in memory {rest_memory}");
    drop(server);
    Ok(serde_json::json!({
        "sockets": sockets,
        "rest": rest,
        "rest_conversation": rest_conversation,
        "rest_memory": rest_memory,
        "model": model.display().to_string(),
    }))
}

/// The sockets, REST and REST-conversation runs against one server with its history in `db`.
fn measure_on_file(
    root: &Path,
    model: &Path,
    db: &Path,
    sessions: usize,
    seconds: u64,
) -> Result<(Value, Value, Value)> {
    let server = start_server(root, model, History::File(db))?;
    let pid = server.child.id();
    println!(
        "xtask: {sessions} sockets for {seconds} s against {}",
        server.address
    );
    // Opening at 1,000 a second, the hold, the stragglers' grace, and slack.
    let limit = Duration::from_secs(sessions as u64 / 1000 + seconds + 60);
    let sockets = generator(
        root,
        &format!(
            "sockets {} {KEY} {sessions} {seconds} {pid}",
            server.address
        ),
        limit,
    )?;
    println!("xtask: sockets {sockets}");
    let rest = generator(
        root,
        &format!("rest {} {KEY} 10 32", server.address),
        Duration::from_secs(60),
    )?;
    println!("xtask: rest {rest}");
    // Each connection carrying on one conversation, as a site's backend would.
    let rest_conversation = generator(
        root,
        &format!("rest {} {KEY} 10 32 conversation", server.address),
        Duration::from_secs(60),
    )?;
    println!("xtask: rest, conversations {rest_conversation}");
    Ok((sockets, rest, rest_conversation))
}

/// What `cargo xtask test` asks of a [`run`]: every session opened and held to the end, and the
/// REST endpoint answering throughout.
pub(crate) fn check(result: &Value, sessions: usize) -> Result<()> {
    let s = &result["sockets"];
    let count = |v: &Value| v.as_u64().unwrap_or(0);
    if count(&s["opened"]) != sessions as u64 {
        bail!("{} of {sessions} sessions opened", count(&s["opened"]));
    }
    if count(&s["unexpected_disconnects"]) != 0 {
        bail!(
            "{} sessions were disconnected",
            count(&s["unexpected_disconnects"])
        );
    }
    if count(&s["pongs"]) < sessions as u64 {
        bail!(
            "{} pongs for {sessions} sessions: heartbeats went unanswered",
            count(&s["pongs"])
        );
    }
    for rest in ["rest", "rest_conversation", "rest_memory"] {
        if count(&result[rest]["chatlet"]["requests"]) == 0 {
            bail!("no REST request was answered ({rest})");
        }
    }
    Ok(())
}

/// A side's per-round rates, as "a, b, c".
fn rounds(side: &Value) -> String {
    side["round_requests_per_second"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|v| format!("{:.0}", v.as_f64().unwrap_or(0.0)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The BENCHMARKS.md section for a [`run`] result.
pub(crate) fn section(result: &Value) -> String {
    let s = &result["sockets"];
    let number = |v: &Value| v.as_f64().unwrap_or(0.0);
    let per_connection = number(&s["bytes_per_connection"]) / 1024.0;
    let mark = |ok: bool| if ok { "yes" } else { "**no**" };
    let model = Path::new(result["model"].as_str().unwrap_or("?"))
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = format!(
        "\n## Server under load\n\n`cargo xtask load`: release `chatlet serve` and the `chatlet-load` generator on this \
         machine, 127.0.0.1 only. History is kept as `chatlet serve` keeps it by default, in a SQLite file (turns are committed \
         in groups), except in the last REST row (`--history-in-memory`).\n\n\
         | measure | result | target | met |\n|---|---|---|---|\n\
         | WebSocket sessions held {} s with heartbeats (opened / asked) | {} / {} | 10,000 | {} |\n\
         | unexpected disconnects | {} | 0 | {} |\n\
         | server memory per connection | {:.1} KB | ≤ 10 KB | {} |\n",
        s["held_seconds"],
        s["opened"],
        s["sessions"],
        mark(number(&s["opened"]) >= 10_000.0),
        s["unexpected_disconnects"],
        mark(number(&s["unexpected_disconnects"]) == 0.0),
        per_connection,
        mark(per_connection <= 10.0),
    );
    let mut notes = Vec::new();
    for (key, what) in [
        (
            "rest",
            "every request a new session, history in SQLite (the default)",
        ),
        (
            "rest_conversation",
            "each connection carrying on one conversation (`session_id` sent back), history in SQLite",
        ),
        (
            "rest_memory",
            "every request a new session, history in memory (`--history-in-memory`)",
        ),
    ] {
        let r = &result[key];
        let ratio = number(&r["throughput_ratio"]);
        out.push_str(&format!(
            "| `POST /api/v1/chat` ({model}, 32 connections, 10 s), {what}: chatlet, bare axum | {:.0}, {:.0} req/s \
             (chatlet p50 {:.0} µs, p99 {:.0} µs; bare p50 {:.0} µs, p99 {:.0} µs) | – | – |\n\
             | chatlet / bare throughput, {what} | {:.0}% | ≥ 50% | {} |\n",
            number(&r["chatlet"]["requests_per_second"]),
            number(&r["bare_axum"]["requests_per_second"]),
            number(&r["chatlet"]["latency_us_p50"]),
            number(&r["chatlet"]["latency_us_p99"]),
            number(&r["bare_axum"]["latency_us_p50"]),
            number(&r["bare_axum"]["latency_us_p99"]),
            ratio * 100.0,
            mark(ratio >= 0.5),
        ));
        notes.push(format!(
            "{what}: chatlet {}, bare {} req/s",
            rounds(&r["chatlet"]),
            rounds(&r["bare_axum"])
        ));
    }
    out.push_str(&format!(
        "\nREST: chatlet and a bare axum handler (a process of its own, as `chatlet serve` is) take turns in 5 rounds \
         of 2 s each; the rates are each side's median round and the ratio the median of the rounds' ratios \
         (rounds — {}). Latency percentiles pool every request. A request without `session_id` starts a session: \
         the most work for the history.\n",
        notes.join("; ")
    ));
    out
}
