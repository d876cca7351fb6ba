//! chatlet's load generator (127.0.0.1 only), run by `cargo xtask load`:
//! `chatlet-load sockets ADDR KEY SESSIONS SECONDS SERVER_PID` holds many WebSocket sessions with
//! heartbeats and reports disconnects and the server's memory per connection;
//! `chatlet-load rest ADDR KEY SECONDS CONNECTIONS [new|conversation]` measures
//! `POST /api/v1/chat` beside a bare axum handler measured in the same run, the two taking
//! turns: each request starts a new session (`new`, the default), or each connection carries on
//! one conversation, sending back the `session_id` of its first answer. Results are one JSON
//! line. `chatlet-load bare` is that handler's server: a process of its own, as `chatlet serve`
//! is, which prints its address and stops when its standard input closes.

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// Sessions per source address: the server allows 50 sockets per client address, so the
/// generator spreads its sessions over 127.0.0.x addresses, as real visitors come from many.
const SESSIONS_PER_SOURCE: usize = 40;
/// How fast sessions are opened, per second (the server's per-address rate limit is 10/s with
/// bursts of 30; with many sources this is the overall ramp).
const OPEN_PER_SECOND: u64 = 1000;
/// How long after the end of the hold a session may take to close before it counts as lost.
const STRAGGLER_GRACE: Duration = Duration::from_secs(15);
/// The longest one REST request may take before the run fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = match args.first().map(String::as_str) {
        Some("sockets") if args.len() == 6 => runtime.block_on(sockets(
            args[1].parse()?,
            args[2].clone(),
            args[3].parse()?,
            args[4].parse()?,
            args[5].parse()?,
        ))?,
        Some("rest") if (5..=6).contains(&args.len()) => {
            let conversation = match args.get(5).map(String::as_str) {
                None | Some("new") => false,
                Some("conversation") => true,
                Some(other) => bail!("unknown REST workload `{other}`: new or conversation"),
            };
            runtime.block_on(rest(
                args[1].parse()?,
                args[2].clone(),
                args[3].parse()?,
                args[4].parse()?,
                conversation,
            ))?
        }
        Some("bare") if args.len() == 1 => return runtime.block_on(serve_bare()),
        _ => bail!(
            "usage: chatlet-load sockets ADDR KEY SESSIONS SECONDS SERVER_PID | rest ADDR KEY SECONDS CONNECTIONS [new|conversation] | bare"
        ),
    };
    println!("{result}");
    Ok(())
}

/// The server's resident memory in KiB (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Opens `sessions` sockets (hello, welcome), holds them for `seconds` with a ping every 20 s
/// (each socket's first ping at a random point of the first interval), and counts every socket
/// that closed or failed before the end.
async fn sockets(
    server: SocketAddr,
    key: String,
    sessions: usize,
    seconds: u64,
    server_pid: u32,
) -> Result<Value> {
    let rss_before = rss_kib(server_pid).unwrap_or(0);
    let opened = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let pongs = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let hold_until = started + Duration::from_secs(seconds) + open_time(sessions);
    let mut tasks = Vec::with_capacity(sessions);
    // Round robin over the sources keeps each one under the per-address rate limit.
    let sources = sessions.div_ceil(SESSIONS_PER_SOURCE);
    for i in 0..sessions {
        let pace = Duration::from_micros(1_000_000 / OPEN_PER_SECOND);
        tokio::time::sleep(pace).await;
        let s = i % sources;
        let source = Ipv4Addr::new(127, 0, 1 + (s / 250) as u8, 1 + (s % 250) as u8);
        let (key, opened, dropped, pongs) =
            (key.clone(), opened.clone(), dropped.clone(), pongs.clone());
        tasks.push(tokio::spawn(async move {
            // A server that stops answering must not hold the generator past the hold.
            let give_up = tokio::time::Instant::from_std(hold_until + STRAGGLER_GRACE);
            let held = tokio::time::timeout_at(
                give_up,
                hold(server, source, &key, i, hold_until, &opened, &pongs),
            )
            .await;
            if !matches!(held, Ok(Ok(()))) {
                dropped.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let open_seconds = started.elapsed().as_secs_f64();
    // Measure memory while every session is open.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_loaded = rss_kib(server_pid).unwrap_or(0);
    let held_at_peak = opened.load(Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let per_connection = if held_at_peak > 0 {
        (rss_loaded.saturating_sub(rss_before)) as f64 * 1024.0 / held_at_peak as f64
    } else {
        0.0
    };
    Ok(json!({
        "sessions": sessions,
        "opened": opened.load(Ordering::Relaxed),
        "unexpected_disconnects": dropped.load(Ordering::Relaxed),
        "held_seconds": seconds,
        "pongs": pongs.load(Ordering::Relaxed),
        "open_seconds": open_seconds,
        "server_rss_kib_before": rss_before,
        "server_rss_kib_loaded": rss_loaded,
        "bytes_per_connection": per_connection,
    }))
}

fn open_time(sessions: usize) -> Duration {
    Duration::from_millis(sessions as u64 * 1000 / OPEN_PER_SECOND + 1000)
}

/// One session: hello, then pings until `until`; any close or error before then is an error.
async fn hold(
    server: SocketAddr,
    source: Ipv4Addr,
    key: &str,
    index: usize,
    until: Instant,
    opened: &AtomicU64,
    pongs: &AtomicU64,
) -> Result<()> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    let stream = socket.connect(server).await?;
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("ws://{server}/api/v1/ws"), stream).await?;
    let hello =
        json!({"type": "hello", "key": key, "user_id": format!("load-{index}"), "last_seq": 0});
    ws.send(Message::text(hello.to_string())).await?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.contains("\"welcome\"") => {}
        other => bail!("no welcome: {other:?}"),
    }
    opened.fetch_add(1, Ordering::Relaxed);
    // Heartbeats every 20 s, spread so that not every session pings at once.
    let first = Duration::from_millis((index as u64 * 7919) % 20_000);
    let mut next_ping = tokio::time::Instant::now() + first;
    loop {
        let deadline = tokio::time::Instant::from_std(until);
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            _ = tokio::time::sleep_until(next_ping) => {
                ws.send(Message::text(r#"{"type":"ping"}"#)).await?;
                next_ping += Duration::from_secs(20);
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) if t.contains("\"pong\"") => {
                    pongs.fetch_add(1, Ordering::Relaxed);
                }
                Some(Ok(Message::Close(_))) | None => bail!("closed by the server"),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(_)) => {}
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}

/// Serves the bare axum handler on 127.0.0.1:0 (`chatlet-load bare`), prints its address, and
/// exits when standard input reaches its end, so that it never outlives the run that started
/// it.
async fn serve_bare() -> Result<()> {
    let app = axum::Router::new().route(
        "/api/v1/chat",
        // A session id too, so that a conversation's client does the same work on both sides.
        axum::routing::post(|| async {
            axum::Json(json!({"session_id": "0123456789abcdef", "reply": "ok"}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

/// The bare handler's server, a child process: the baseline for REST throughput. It runs in a
/// process of its own with the same runtime as `chatlet serve` (a worker per core), so that
/// both sides pay the same cross-process wake-ups; served from the generator's own runtime, a
/// worker could take a request from its client to the handler and back without a switch.
struct BareServer {
    child: std::process::Child,
    address: SocketAddr,
}

impl BareServer {
    fn start() -> Result<BareServer> {
        use std::io::BufRead;
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .arg("bare")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("cannot start the bare handler's server")?;
        let mut line = String::new();
        let stdout = child
            .stdout
            .take()
            .context("no output from the bare server")?;
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let address = line
            .trim()
            .parse()
            .with_context(|| format!("the bare server printed `{}`", line.trim()))?;
        Ok(BareServer { child, address })
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Requests/s and latency of `POST /api/v1/chat` on chatlet and on the bare handler, each for
/// `seconds` in all with `connections` keep-alive connections. The two take turns in
/// [`ROUNDS`] short rounds, and each reports its median round: a slow patch of this shared
/// machine then hits both instead of one (back to back, the bare figure alone varied ±25%).
async fn rest(
    server: SocketAddr,
    key: String,
    seconds: u64,
    connections: usize,
    conversation: bool,
) -> Result<Value> {
    let bare_server = BareServer::start()?;
    let bare = bare_server.address;
    let queries = [
        "what is my account balance",
        "how do I change my pin",
        "book a flight to paris",
        "what's the weather like tomorrow",
        "tell me a joke",
        "set an alarm for 7am",
        "how many calories are in an apple",
        "transfer money to my savings",
    ];
    let round = Duration::from_secs(seconds).div_f64(ROUNDS as f64);
    let mut rounds: [Vec<Round>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        for (side, address) in [bare, server].into_iter().enumerate() {
            let load = Load {
                address,
                key: &key,
                queries: &queries,
                length: round,
                connections,
                conversation,
            };
            rounds[side].push(measure(load).await?);
        }
    }
    let ratios: Vec<f64> = rounds[1]
        .iter()
        .zip(&rounds[0])
        .map(|(chatlet, bare)| chatlet.per_second / bare.per_second.max(f64::MIN_POSITIVE))
        .collect();
    let [bare, chatlet] = rounds.map(|r| summary(&r));
    Ok(json!({
        "bare_axum": bare,
        "chatlet": chatlet,
        "workload": if conversation { "conversation" } else { "new" },
        "rounds": ROUNDS,
        "throughput_ratio": median(ratios),
    }))
}

/// How many rounds each side of the REST comparison runs.
const ROUNDS: usize = 5;

/// One side's round: answered requests, their rate and latencies.
struct Round {
    per_second: f64,
    latencies: Vec<f64>,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// The median round's rate; latency percentiles over every request of every round.
fn summary(rounds: &[Round]) -> Value {
    let mut all: Vec<f64> = rounds
        .iter()
        .flat_map(|r| r.latencies.iter().copied())
        .collect();
    all.sort_by(f64::total_cmp);
    let at = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    json!({
        "requests": all.len(),
        "requests_per_second": median(rounds.iter().map(|r| r.per_second).collect()),
        "round_requests_per_second": rounds.iter().map(|r| r.per_second.round()).collect::<Vec<_>>(),
        "latency_us_p50": at(0.5),
        "latency_us_p99": at(0.99),
    })
}

/// One side's round of REST requests.
struct Load<'a> {
    address: SocketAddr,
    key: &'a str,
    queries: &'a [&'a str],
    length: Duration,
    connections: usize,
    /// Each connection carries on one session instead of starting one per request.
    conversation: bool,
}

async fn measure(load: Load<'_>) -> Result<Round> {
    let Load {
        address,
        length,
        conversation,
        ..
    } = load;
    let until = Instant::now() + length;
    let mut tasks = Vec::new();
    for c in 0..load.connections {
        let key = load.key.to_owned();
        let queries: Vec<String> = load.queries.iter().map(|q| (*q).to_owned()).collect();
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(address).await?;
            stream.set_nodelay(true)?;
            let mut latencies = Vec::new();
            let mut n = c;
            let mut buffer = Vec::with_capacity(8192);
            let mut session: Option<String> = None;
            while Instant::now() < until {
                n += 1;
                let body = json!({
                    "user_id": format!("rest-{c}"),
                    "session_id": session,
                    "query": queries[n % queries.len()],
                })
                .to_string();
                let request = format!(
                    "POST /api/v1/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let sent = Instant::now();
                let body = tokio::time::timeout(REQUEST_TIMEOUT, async {
                    stream.write_all(request.as_bytes()).await?;
                    read_response(&mut stream, &mut buffer).await
                })
                .await
                .context("no answer within 10 s")??;
                latencies.push(sent.elapsed().as_secs_f64() * 1e6);
                if conversation && session.is_none() {
                    let answer: Value = serde_json::from_slice(&buffer[body])
                        .context("the chat answer is not JSON")?;
                    session = Some(
                        answer["session_id"]
                            .as_str()
                            .context("the chat answer has no session_id")?
                            .to_owned(),
                    );
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.context("a REST client panicked")??);
    }
    Ok(Round {
        per_second: latencies.len() as f64 / length.as_secs_f64(),
        latencies,
    })
}

/// Reads one HTTP/1.1 response with a Content-Length body into `buffer`; fails on any status
/// but 200. Returns where the body is in `buffer`.
async fn read_response(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Result<std::ops::Range<usize>> {
    buffer.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
            if !head.starts_with("http/1.1 200") {
                bail!("{}", head.lines().next().unwrap_or_default());
            }
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buffer.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    bail!("connection closed mid-response");
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            return Ok(end + 4..end + 4 + length);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed");
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}
