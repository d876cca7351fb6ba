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

/// A release server with `model`; its history in memory, or in the SQLite file `db`.
fn start_server(root: &Path, model: &Path, db: Option<&Path>) -> Result<Server> {
    let chatlet = root.join("target/release/chatlet");
    let db = db
        .map(|path| format!(" --db '{}'", path.display()))
        .unwrap_or_default();
    let command = format!(
        "'{}' serve --addr 127.0.0.1:0 --root '{}' --models '{}' --model '{}' --admin-key {KEY} \
         --rate-per-address 1000000 --rate-per-key 1000000{db}",
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
    let server = start_server(root, model, None)?;
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
    drop(server);
    // The same with history in a SQLite file, as a server that keeps it runs.
    let db = root.join("target/load-history.db");
    let remove_db = || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    };
    remove_db();
    let server = start_server(root, model, Some(&db))?;
    let rest_sqlite = generator(
        root,
        &format!("rest {} {KEY} 10 32", server.address),
        Duration::from_secs(60),
    );
    drop(server);
    remove_db();
    let rest_sqlite = rest_sqlite?;
    println!("xtask: rest with --db {rest_sqlite}");
    Ok(serde_json::json!({
        "sockets": sockets,
        "rest": rest,
        "rest_conversation": rest_conversation,
        "rest_sqlite": rest_sqlite,
        "model": model.display().to_string(),
    }))
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
    for rest in ["rest", "rest_conversation", "rest_sqlite"] {
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
    let r = &result["rest"];
    let number = |v: &Value| v.as_f64().unwrap_or(0.0);
    let per_connection = number(&s["bytes_per_connection"]) / 1024.0;
    let ratio = number(&r["throughput_ratio"]);
    let q = &result["rest_sqlite"];
    let sqlite_ratio = number(&q["throughput_ratio"]);
    let c = &result["rest_conversation"];
    let conversation_ratio = number(&c["throughput_ratio"]);
    let mark = |ok: bool| if ok { "yes" } else { "**no**" };
    format!(
        "\n## Server under load\n\n`cargo xtask load`: release `chatlet serve` and the `chatlet-load` generator on this \
         machine, 127.0.0.1 only.\n\n| measure | result | target | met |\n|---|---|---|---|\n\
         | WebSocket sessions held {} s with heartbeats (opened / asked) | {} / {} | 10,000 | {} |\n\
         | unexpected disconnects | {} | 0 | {} |\n\
         | server memory per connection | {:.1} KB | ≤ 10 KB | {} |\n\
         | `POST /api/v1/chat` ({}), 32 connections, 10 s, history in memory | {:.0} req/s, p50 {:.0} µs, p99 {:.0} µs | – | – |\n\
         | bare axum handler (a process of its own, as `chatlet serve` is), same run | {:.0} req/s, p50 {:.0} µs, p99 {:.0} µs | – | – |\n\
         | chatlet / bare throughput | {:.0}% | ≥ 50% | {} |\n\
         | the same, each connection carrying on one conversation (`session_id` sent back): chatlet, bare | {:.0}, {:.0} req/s (p50 {:.0} µs, p99 {:.0} µs) | – | – |\n\
         | chatlet / bare throughput, conversations | {:.0}% | ≥ 50% | {} |\n\
         | the same with history in a SQLite file (`--db`): chatlet, bare | {:.0}, {:.0} req/s (p50 {:.0} µs, p99 {:.0} µs) | – | – |\n\
         | chatlet with `--db` / bare throughput | {:.0}% | ≥ 50% | {} |\n\n\
         REST: chatlet and the bare handler take turns in 5 rounds of 2 s each; the rates are each \
         side's median round and the ratio the median of the rounds' ratios (rounds, history in memory: chatlet {}, bare {} req/s; \
         conversations: chatlet {}, bare {} req/s; with `--db`: chatlet {}, bare {} req/s). Latency percentiles pool every \
         request. Unless marked as conversations, every request starts a session (no `session_id`): the most work for \
         the history, and the figure the target is judged on. Without `--db` the server keeps history in its own memory \
         (`MemoryStore`); with it, one writer thread commits the turns to SQLite in groups.\n",
        s["held_seconds"],
        s["opened"],
        s["sessions"],
        mark(number(&s["opened"]) >= 10_000.0),
        s["unexpected_disconnects"],
        mark(number(&s["unexpected_disconnects"]) == 0.0),
        per_connection,
        mark(per_connection <= 10.0),
        Path::new(result["model"].as_str().unwrap_or("?"))
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        number(&r["chatlet"]["requests_per_second"]),
        number(&r["chatlet"]["latency_us_p50"]),
        number(&r["chatlet"]["latency_us_p99"]),
        number(&r["bare_axum"]["requests_per_second"]),
        number(&r["bare_axum"]["latency_us_p50"]),
        number(&r["bare_axum"]["latency_us_p99"]),
        ratio * 100.0,
        mark(ratio >= 0.5),
        number(&c["chatlet"]["requests_per_second"]),
        number(&c["bare_axum"]["requests_per_second"]),
        number(&c["chatlet"]["latency_us_p50"]),
        number(&c["chatlet"]["latency_us_p99"]),
        conversation_ratio * 100.0,
        mark(conversation_ratio >= 0.5),
        number(&q["chatlet"]["requests_per_second"]),
        number(&q["bare_axum"]["requests_per_second"]),
        number(&q["chatlet"]["latency_us_p50"]),
        number(&q["chatlet"]["latency_us_p99"]),
        sqlite_ratio * 100.0,
        mark(sqlite_ratio >= 0.5),
        rounds(&r["chatlet"]),
        rounds(&r["bare_axum"]),
        rounds(&c["chatlet"]),
        rounds(&c["bare_axum"]),
        rounds(&q["chatlet"]),
        rounds(&q["bare_axum"]),
    )
}
