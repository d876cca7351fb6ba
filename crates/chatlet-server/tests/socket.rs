//! The WebSocket protocol with a real client on an ephemeral 127.0.0.1 port: hello and resume
//! with replay, idempotent messages, events reaching every tab, agent messages pushed, and every
//! way of breaking the protocol closing (or not) with the documented code.

use chatlet_engine::{Model, TrainOptions, bot};
use chatlet_protocol::{Author, ServerFrame, close_code};
use chatlet_server::{Api, ApiKeys, AppState, RateLimits, SocketLimits, SqliteStore, app};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Message, protocol::frame::coding::CloseCode};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const BOT: &str = r#"
name: Socket test bot
languages: [zh]
intents:
  hours:
    examples: [几点开门, 营业时间, 你们几点关门, 早上几点营业]
    responses: 9点开门。
  delivery:
    examples: [能送货吗, 可以配送吗, 送货上门吗, 有外卖吗]
    responses: 可以配送。
"#;

const ADMIN: &str = "admin-key";
const PUBLIC: &str = "public-key";
const ORIGIN: &str = "https://shop.example";

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Server {
    address: SocketAddr,
    api: Arc<Api>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(limits: SocketLimits) -> Server {
    let bot = bot::parse("bot.yaml", BOT).unwrap();
    let model = Model::train(&bot, &TrainOptions::default(), &mut |_| {}).unwrap();
    let keys = ApiKeys {
        admin: vec![ADMIN.into()],
        public: vec![PUBLIC.into()],
        allowed_origins: vec![ORIGIN.into()],
    };
    let api = Arc::new(
        Api::new(
            Some(model),
            keys,
            RateLimits::default(),
            Arc::new(SqliteStore::in_memory().unwrap()),
        )
        .with_socket_limits(limits),
    );
    let state = AppState {
        site_root: std::env::temp_dir(),
        models: std::env::temp_dir(),
        api: api.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Server { address, api, task }
}

async fn connect(server: &Server, origin: Option<&str>) -> Client {
    let mut request = format!("ws://{}/api/v1/ws", server.address)
        .into_client_request()
        .unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn send(client: &mut Client, frame: Value) {
    client.send(Message::text(frame.to_string())).await.unwrap();
}

/// The next frame that is not `typing` (5 s at most); `Err` with the close code when closed.
async fn next(client: &mut Client) -> Result<ServerFrame, Option<u16>> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), client.next())
            .await
            .expect("a frame within 5 s");
        match message {
            Some(Ok(Message::Text(text))) => {
                let frame: ServerFrame = serde_json::from_str(&text).unwrap();
                if !matches!(frame, ServerFrame::Typing { .. }) {
                    return Ok(frame);
                }
            }
            Some(Ok(Message::Close(close))) => {
                return Err(close.map(|c| u16::from(c.code)));
            }
            Some(Ok(_)) => {}
            _ => return Err(None),
        }
    }
}

async fn hello(
    client: &mut Client,
    key: &str,
    session: Option<&str>,
    last_seq: u64,
) -> ServerFrame {
    send(
        client,
        json!({"type": "hello", "key": key, "user_id": "u1", "session_id": session, "last_seq": last_seq}),
    )
    .await;
    next(client).await.expect("welcome")
}

/// Events until a pong comes back: proof that nothing else was on its way.
async fn events_until_pong(client: &mut Client) -> Vec<(u64, Author, String)> {
    send(client, json!({"type": "ping", "t": 1.5})).await;
    let mut events = Vec::new();
    loop {
        match next(client).await.expect("open") {
            ServerFrame::Pong { t } => {
                assert_eq!(t, Some(1.5));
                return events;
            }
            ServerFrame::Event(e) => events.push((e.seq, e.author, e.text)),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn messages_are_acknowledged_answered_once_replayed_and_pushed() {
    let server = start(SocketLimits::default()).await;
    let mut tab = connect(&server, None).await;
    let ServerFrame::Welcome {
        session_id,
        last_seq,
        heartbeat_ms,
    } = hello(&mut tab, ADMIN, None, 0).await
    else {
        panic!("no welcome");
    };
    assert_eq!((last_seq, heartbeat_ms), (0, 20_000));

    send(
        &mut tab,
        json!({"type": "message", "client_id": "c1", "text": "几点开门"}),
    )
    .await;
    assert_eq!(
        next(&mut tab).await.unwrap(),
        ServerFrame::Ack {
            client_id: "c1".into(),
            seq: 1,
            duplicate: false
        }
    );
    assert_eq!(
        events_until_pong(&mut tab).await,
        [
            (1, Author::Visitor, "几点开门".into()),
            (2, Author::Bot, "9点开门。".into())
        ]
    );
    // Resent (the ack was lost, say): acknowledged as the same message, not answered again.
    send(
        &mut tab,
        json!({"type": "message", "client_id": "c1", "text": "几点开门"}),
    )
    .await;
    assert_eq!(
        next(&mut tab).await.unwrap(),
        ServerFrame::Ack {
            client_id: "c1".into(),
            seq: 1,
            duplicate: true
        }
    );
    assert_eq!(events_until_pong(&mut tab).await, []);

    // A second tab resumes after event 1: it gets event 2, then both see what either sends.
    let mut other = connect(&server, Some(ORIGIN)).await;
    let welcome = hello(&mut other, PUBLIC, Some(&session_id), 1).await;
    assert!(
        matches!(welcome, ServerFrame::Welcome { last_seq: 2, .. }),
        "{welcome:?}"
    );
    assert_eq!(
        events_until_pong(&mut other).await,
        [(2, Author::Bot, "9点开门。".into())]
    );
    send(
        &mut other,
        json!({"type": "message", "client_id": "c2", "text": "能送货吗"}),
    )
    .await;
    assert!(matches!(
        next(&mut other).await.unwrap(),
        ServerFrame::Ack { seq: 3, .. }
    ));
    let expected = [
        (3, Author::Visitor, "能送货吗".to_owned()),
        (4, Author::Bot, "可以配送。".to_owned()),
    ];
    assert_eq!(events_until_pong(&mut other).await, expected);
    assert_eq!(events_until_pong(&mut tab).await, expected);

    // A person writes through the admin API: pushed to both tabs at once.
    let response = admin_post(
        server.address,
        &format!("/api/v1/sessions/{session_id}/messages"),
        &json!({"text": "您好，我是客服小王"}),
    )
    .await;
    assert_eq!(response["seq"], 5);
    for client in [&mut tab, &mut other] {
        assert_eq!(
            events_until_pong(client).await,
            [(5, Author::Agent, "您好，我是客服小王".into())]
        );
    }
    assert_eq!(server.api.open_sockets(), 2);
}

/// POSTs JSON with the admin key over a plain TCP connection (no HTTP client dependency);
/// the answer must be 200.
async fn admin_post(address: SocketAddr, path: &str, body: &Value) -> Value {
    let (head, body) = admin_request(address, path, body).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body
}

/// POSTs JSON with the admin key; the response's head and JSON body.
async fn admin_request(address: SocketAddr, path: &str, body: &Value) -> (String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.to_string();
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), serde_json::from_str(body).unwrap())
}

#[tokio::test]
async fn a_session_a_socket_holds_before_it_is_stored_is_not_taken_over_by_rest() {
    let server = start(SocketLimits::default()).await;
    let mut client = connect(&server, None).await;
    // The server draws the id and stores the session only with its first message.
    let ServerFrame::Welcome { session_id, .. } = hello(&mut client, ADMIN, None, 0).await else {
        panic!("expected a welcome");
    };
    let turn = |user: &str| json!({"user_id": user, "session_id": session_id, "query": "几点开门"});
    let (head, body) = admin_request(server.address, "/api/v1/chat", &turn("u2")).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}: {body}");
    assert_eq!(body["code"], "forbidden", "{body}");
    // Its own user may chat in it over REST, and the socket gets the turn's events.
    let answered = admin_post(server.address, "/api/v1/chat", &turn("u1")).await;
    assert_eq!(answered["reply"], "9点开门。");
    let events = events_until_pong(&mut client).await;
    assert_eq!(events.len(), 2, "{events:?}");
}

#[tokio::test]
async fn broken_protocol_gets_errors_or_the_documented_close_codes() {
    let server = start(SocketLimits {
        idle_timeout: Duration::from_millis(600),
        ..SocketLimits::default()
    })
    .await;
    // Bad frames after hello: an error each, and the connection keeps working.
    let mut client = connect(&server, None).await;
    hello(&mut client, ADMIN, None, 0).await;
    for bad in [
        "not json".to_owned(),
        json!({"type": "shout"}).to_string(),
        json!({"type": "message", "client_id": "", "text": "hi"}).to_string(),
        json!({"type": "message", "client_id": "c/1", "text": "hi"}).to_string(),
        json!({"type": "message", "client_id": "c1", "text": "   "}).to_string(),
        json!({"type": "message", "client_id": "c1", "text": 5}).to_string(),
        json!({"type": "hello", "key": ADMIN, "user_id": "u1"}).to_string(),
    ] {
        client.send(Message::text(bad.clone())).await.unwrap();
        let frame = next(&mut client).await.unwrap();
        assert!(
            matches!(frame, ServerFrame::Error { .. }),
            "{bad}: {frame:?}"
        );
    }
    client.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert!(matches!(
        next(&mut client).await.unwrap(),
        ServerFrame::Error { .. }
    ));
    assert_eq!(events_until_pong(&mut client).await, []);
    // Silence past the idle timeout closes it.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(next(&mut client).await, Err(Some(close_code::IDLE)));

    // Frames too large.
    let mut client = connect(&server, None).await;
    hello(&mut client, ADMIN, None, 0).await;
    let huge = json!({"type": "message", "client_id": "c1", "text": "x".repeat(20_000)});
    let _ = client.send(Message::text(huge.to_string())).await;
    assert_eq!(next(&mut client).await, Err(Some(close_code::TOO_BIG)));

    // The first frame must be hello, with a known key, allowed from this origin.
    let cases: [(Option<&str>, Value, u16); 4] = [
        (None, json!({"type": "ping"}), close_code::PROTOCOL),
        (
            None,
            json!({"type": "hello", "key": "nope", "user_id": "u"}),
            close_code::UNAUTHORIZED,
        ),
        (
            None,
            json!({"type": "hello", "key": PUBLIC, "user_id": "u"}),
            close_code::FORBIDDEN,
        ),
        (
            Some("https://evil.example"),
            json!({"type": "hello", "key": PUBLIC, "user_id": "u"}),
            close_code::FORBIDDEN,
        ),
    ];
    for (origin, first, code) in cases {
        let mut client = connect(&server, origin).await;
        send(&mut client, first.clone()).await;
        assert_eq!(next(&mut client).await, Err(Some(code)), "{first}");
    }
    // Another user's session is refused.
    let mut owner = connect(&server, None).await;
    let ServerFrame::Welcome { session_id, .. } = hello(&mut owner, ADMIN, None, 0).await else {
        panic!()
    };
    let mut intruder = connect(&server, None).await;
    send(
        &mut intruder,
        json!({"type": "hello", "key": ADMIN, "user_id": "u2", "session_id": session_id}),
    )
    .await;
    assert_eq!(next(&mut intruder).await, Err(Some(close_code::FORBIDDEN)));
    // The owner is still served.
    assert_eq!(events_until_pong(&mut owner).await, []);
}

#[tokio::test]
async fn stopping_the_server_closes_sockets_as_going_away() {
    let server = start(SocketLimits::default()).await;
    let mut client = connect(&server, None).await;
    hello(&mut client, ADMIN, None, 0).await;
    server.api.close_sockets();
    assert_eq!(
        next(&mut client).await,
        Err(Some(u16::from(CloseCode::Away)))
    );
}
