//! Skills: a bot's actions answered by a real webhook server on an ephemeral 127.0.0.1 port.
//! The webhook's text and slots reach the conversation; 5xx and 429 are retried within the
//! action's timeout; a webhook that fails, hangs or finds the queue full gives the action's
//! fallback; and a slow webhook holds up neither other sessions nor the visitor's socket.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chatlet_engine::{Model, TrainOptions, bot};
use chatlet_protocol::{Author, ServerFrame};
use chatlet_server::{Api, ApiKeys, AppState, RateLimits, SkillSettings, Skills, SqliteStore, app};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio_tungstenite::tungstenite::Message;

const BOT: &str = r#"
name: Skill test bot
languages: [zh, en]
context: [name, eta]
intents:
  hours:
    examples: [几点开门, 营业时间, 你们几点关门, when are you open, opening hours]
    responses: 9点开门。
  stock:
    examples: [有货吗, 还有库存吗, is it in stock, do you have it]
    action: check_stock
  track:
    examples: [我的快递到哪了, 查一下物流, where is my parcel, track my package]
    action: track_parcel
  eta:
    examples: [多久能到, 几天到货, how long until it arrives, when will it arrive]
    responses: "预计{eta}天到。"
actions:
  check_stock:
    timeout_ms: 5000
    fallback: 暂时无法查询库存。
  track_parcel:
    timeout_ms: 300
    fallback: 物流暂时查不到。
"#;

const KEY: &str = "admin-key";
const TOKEN: &str = "skill-token-1";

/// What the fake webhook does with its next call.
enum Behavior {
    Status(u16),
    Answer(Value),
    /// Waits until the test releases it, then answers.
    Hold(Value),
    /// Never answers in time.
    Sleep,
}

/// A webhook server that follows a script and records every call.
#[derive(Clone)]
struct Webhook {
    script: Arc<Mutex<VecDeque<Behavior>>>,
    calls: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
    /// Notified on every call received.
    called: Arc<Notify>,
    /// A permit lets one held call answer.
    release: Arc<Semaphore>,
}

impl Webhook {
    fn new() -> Webhook {
        Webhook {
            script: Arc::default(),
            calls: Arc::default(),
            called: Arc::default(),
            release: Arc::new(Semaphore::new(0)),
        }
    }

    fn then(&self, behavior: Behavior) -> &Self {
        self.script.lock().unwrap().push_back(behavior);
        self
    }

    fn calls(&self) -> Vec<(HeaderMap, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

async fn webhook_call(
    State(hook): State<Webhook>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    hook.calls.lock().unwrap().push((headers, body));
    hook.called.notify_waiters();
    let behavior = hook.script.lock().unwrap().pop_front();
    match behavior {
        Some(Behavior::Status(code)) => StatusCode::from_u16(code).unwrap().into_response(),
        Some(Behavior::Answer(answer)) => Json(answer).into_response(),
        Some(Behavior::Hold(answer)) => {
            hook.release.acquire().await.unwrap().forget();
            Json(answer).into_response()
        }
        Some(Behavior::Sleep) => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::OK.into_response()
        }
        None => Json(json!({"text": "default answer"})).into_response(),
    }
}

/// Serves `router` on an ephemeral port until the task is dropped at the test's end.
async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    address
}

struct Setup {
    chatlet: SocketAddr,
    hook: Webhook,
}

/// chatlet with both actions pointing at a fake webhook.
async fn start(concurrency: usize, queue: usize) -> Setup {
    let hook = Webhook::new();
    let hook_address = serve(
        axum::Router::new()
            .route("/hook", axum::routing::post(webhook_call))
            .with_state(hook.clone()),
    )
    .await;
    let url = format!("http://{hook_address}/hook");
    let skills = Skills::new(SkillSettings {
        webhooks: BTreeMap::from([
            ("check_stock".to_owned(), url.clone()),
            ("track_parcel".to_owned(), url),
        ]),
        token: Some(TOKEN.to_owned()),
        concurrency,
        queue,
        attempts: 3,
        extra_roots_pem: None,
    })
    .unwrap();
    let bot = bot::parse("bot.yaml", BOT).unwrap();
    let model = Model::train(&bot, &TrainOptions::default(), &mut |_| {}).unwrap();
    let keys = ApiKeys {
        admin: vec![KEY.into()],
        ..ApiKeys::default()
    };
    let api = Api::new(
        Some(model),
        keys,
        RateLimits::default(),
        Arc::new(SqliteStore::in_memory().unwrap()),
    )
    .with_skills(skills);
    let state = AppState {
        site_root: std::env::temp_dir(),
        models: std::env::temp_dir(),
        api: Arc::new(api),
    };
    Setup {
        chatlet: serve(app(state)).await,
        hook,
    }
}

/// A plain HTTP/1.1 request to chatlet; the JSON answer.
async fn request(address: SocketAddr, method: &str, path: &str, body: Option<Value>) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").expect("a complete response");
    serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()))
}

async fn chat(address: SocketAddr, session: Option<&str>, query: &str) -> Value {
    let body =
        json!({"user_id": "u1", "session_id": session, "query": query, "context": {"name": "Li"}});
    request(address, "POST", "/api/v1/chat", Some(body)).await
}

async fn metric(address: SocketAddr, line_start: &str) -> u64 {
    let text = request(address, "GET", "/metrics", None).await;
    let text = text.as_str().expect("metrics are text");
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `{line_start}` in\n{text}"))
}

/// `chatlet_skill_calls_total` for one outcome.
async fn skill_calls(address: SocketAddr, outcome: &str) -> u64 {
    metric(
        address,
        &format!("chatlet_skill_calls_total{{outcome=\"{outcome}\"}}"),
    )
    .await
}

#[tokio::test]
async fn the_webhook_answers_and_sets_slots() {
    let setup = start(4, 4).await;
    setup.hook.then(Behavior::Answer(
        json!({"text": "还剩3件。", "slots": {"eta": 2}, "more": "ignored"}),
    ));
    let answer = chat(setup.chatlet, None, "有货吗").await;
    assert_eq!(answer["action"], "check_stock");
    assert_eq!(answer["reply"], "还剩3件。", "{answer}");
    let session = answer["session_id"].as_str().unwrap().to_owned();

    let calls = setup.hook.calls();
    assert_eq!(calls.len(), 1);
    let (headers, body) = &calls[0];
    assert_eq!(headers["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(headers["idempotency-key"], format!("{session}-1"));
    assert_eq!(body["action"], "check_stock");
    assert_eq!(body["session_id"], session);
    assert_eq!(body["user_id"], "u1");
    assert_eq!(body["text"], "有货吗");
    assert_eq!(
        body["slots"]["name"], "Li",
        "the conversation's slots go along"
    );

    // The slot the webhook set is the conversation's now.
    let answer = chat(setup.chatlet, Some(&session), "多久能到").await;
    assert_eq!(answer["reply"], "预计2天到。", "{answer}");

    let history = request(
        setup.chatlet,
        "GET",
        &format!("/api/v1/sessions/{session}/messages"),
        None,
    )
    .await;
    let texts: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["有货吗", "还剩3件。", "多久能到", "预计2天到。"]);
    assert_eq!(skill_calls(setup.chatlet, "answered").await, 1);
}

#[tokio::test]
async fn server_errors_are_retried_and_other_errors_are_not() {
    let setup = start(4, 4).await;
    setup
        .hook
        .then(Behavior::Status(503))
        .then(Behavior::Status(429))
        .then(Behavior::Answer(json!({"text": "有货。"})));
    let answer = chat(setup.chatlet, None, "有货吗").await;
    assert_eq!(answer["reply"], "有货。", "{answer}");
    let calls = setup.hook.calls();
    assert_eq!(calls.len(), 3, "two retries");
    assert!(
        calls
            .iter()
            .all(|(h, _)| h["idempotency-key"] == calls[0].0["idempotency-key"]),
        "every try of one call carries the same idempotency key"
    );
    assert_eq!(
        metric(setup.chatlet, "chatlet_skill_retries_total").await,
        2
    );

    // Three 500s use up the tries: the fallback answers.
    for _ in 0..3 {
        setup.hook.then(Behavior::Status(500));
    }
    let answer = chat(setup.chatlet, None, "有货吗").await;
    assert_eq!(answer["reply"], "暂时无法查询库存。", "{answer}");
    assert_eq!(setup.hook.calls().len(), 6);

    // A 400 is the webhook refusing the call: asking again would not help.
    setup.hook.then(Behavior::Status(400));
    let answer = chat(setup.chatlet, None, "有货吗").await;
    assert_eq!(answer["reply"], "暂时无法查询库存。", "{answer}");
    assert_eq!(setup.hook.calls().len(), 7, "no retry after a 400");

    // An answer that is not the expected JSON is a failure too.
    setup
        .hook
        .then(Behavior::Answer(json!(["not", "an", "object"])));
    let answer = chat(setup.chatlet, None, "有货吗").await;
    assert_eq!(answer["reply"], "暂时无法查询库存。", "{answer}");
    assert_eq!(skill_calls(setup.chatlet, "status").await, 2);
    assert_eq!(skill_calls(setup.chatlet, "bad_answer").await, 1);
}

#[tokio::test]
async fn a_hanging_webhook_times_out_and_holds_up_no_other_session() {
    let setup = start(4, 4).await;
    setup.hook.then(Behavior::Sleep);
    let called = setup.hook.called.notified();
    let chatlet = setup.chatlet;
    let slow = tokio::spawn(async move { chat(chatlet, None, "我的快递到哪了").await });
    called.await;
    // While the webhook hangs, another visitor is answered.
    let other = chat(setup.chatlet, None, "几点开门").await;
    assert_eq!(other["reply"], "9点开门。");
    assert!(!slow.is_finished(), "the slow call was still waiting");
    // The action's 300 ms timeout ends the wait with its fallback (retries never outlast it).
    let slow = slow.await.unwrap();
    assert_eq!(slow["reply"], "物流暂时查不到。", "{slow}");
    assert_eq!(setup.hook.calls().len(), 1);
    assert_eq!(skill_calls(setup.chatlet, "timeout").await, 1);
}

#[tokio::test]
async fn a_full_queue_answers_with_the_fallback_at_once() {
    // One call in flight, none waiting.
    let setup = start(1, 0).await;
    setup.hook.then(Behavior::Hold(json!({"text": "有5件。"})));
    let called = setup.hook.called.notified();
    let chatlet = setup.chatlet;
    let first = tokio::spawn(async move { chat(chatlet, None, "有货吗").await });
    called.await;
    let second = chat(setup.chatlet, None, "还有库存吗").await;
    assert_eq!(second["reply"], "暂时无法查询库存。", "{second}");
    assert_eq!(setup.hook.calls().len(), 1, "the second call never left");
    setup.hook.release.add_permits(1);
    assert_eq!(first.await.unwrap()["reply"], "有5件。");
    assert_eq!(skill_calls(setup.chatlet, "queue_full").await, 1);
    // With the slot free again, calls go through.
    assert_eq!(
        chat(setup.chatlet, None, "有货吗").await["reply"],
        "default answer"
    );
}

#[tokio::test]
async fn a_socket_is_acknowledged_at_once_and_gets_the_answer_when_it_comes() {
    let setup = start(4, 4).await;
    setup
        .hook
        .then(Behavior::Hold(json!({"text": "还剩1件。"})));
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/ws", setup.chatlet))
            .await
            .unwrap();
    for frame in [
        json!({"type": "hello", "key": KEY, "user_id": "u1", "session_id": null, "last_seq": 0}),
        json!({"type": "message", "client_id": "c1", "text": "有货吗", "context": {}}),
    ] {
        socket.send(Message::text(frame.to_string())).await.unwrap();
    }
    // The ack and the visitor's event come while the webhook is still holding on...
    let mut acknowledged = false;
    loop {
        match next(&mut socket).await {
            ServerFrame::Ack { seq, .. } => acknowledged = seq == 1,
            ServerFrame::Event(e) if e.author == Author::Visitor => break,
            ServerFrame::Event(e) => panic!("no answer before the webhook gave one: {e:?}"),
            _ => {}
        }
    }
    assert!(acknowledged);
    // ...and the connection keeps serving: a ping is answered before the skill is.
    socket
        .send(Message::text(json!({"type": "ping", "t": 7}).to_string()))
        .await
        .unwrap();
    loop {
        match next(&mut socket).await {
            ServerFrame::Pong { .. } => break,
            ServerFrame::Event(e) => panic!("no answer before the webhook gave one: {e:?}"),
            _ => {}
        }
    }
    setup.hook.release.add_permits(1);
    let mut typing_off = false;
    let answer = loop {
        match next(&mut socket).await {
            ServerFrame::Event(e) => break e,
            ServerFrame::Typing { on } => typing_off |= !on,
            _ => {}
        }
    };
    assert_eq!(answer.text, "还剩1件。");
    assert_eq!(answer.seq, 2);
    if !typing_off {
        let after = next(&mut socket).await;
        assert!(
            matches!(after, ServerFrame::Typing { on: false }),
            "typing stops after the answer: {after:?}"
        );
    }
}

/// The next frame, within 5 s.
async fn next<S>(socket: &mut S) -> ServerFrame
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}
