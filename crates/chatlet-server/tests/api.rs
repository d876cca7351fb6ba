//! The JSON API answered in memory with `oneshot`: chat turns kept in storage, the owner's
//! history, keys and origins, rate limits, and every kind of bad request getting its own error
//! while the server keeps serving.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use chatlet_engine::{Model, TrainOptions, bot};
use chatlet_server::{Api, ApiKeys, AppState, RateLimits, SqliteStore, app};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

const BOT: &str = r#"
name: Test shop
languages: [zh, en]
entities:
  city:
    values:
      北京: [beijing]
      上海: [shanghai]
context: [name]
intents:
  hours:
    examples: [几点开门, 营业时间, 你们几点关门, when are you open, opening hours]
    responses: "9点开门，{name}。"
  hours_plain:
    examples: [周末开门吗, 周六营业吗, open on weekends, are you open on saturday]
    responses: 周末照常营业。
  delivery:
    examples: ["能送到[北京](city)吗", "[上海](city)可以配送吗", "do you deliver to [beijing](city)", "送货到[上海](city)"]
    responses: "可以送到{city}。"
  stock:
    examples: [有货吗, 还有库存吗, is it in stock, do you have it]
    action: check_stock
  human:
    examples: [转人工, 我要找人工客服, talk to a person, human agent please]
    responses: 正在为您转接人工客服。
    handoff: true
actions:
  check_stock:
    fallback: 暂时无法查询库存。
"#;

const ADMIN: &str = "admin-secret-1";
const PUBLIC: &str = "pk-public-1";
const ORIGIN: &str = "https://shop.example";

fn state_with(limits: RateLimits) -> AppState {
    let bot = bot::parse("bot.yaml", BOT).expect("the test bot parses");
    let model = Model::train(&bot, &TrainOptions::default(), &mut |_| {}).expect("it trains");
    let keys = ApiKeys {
        admin: vec![ADMIN.into()],
        public: vec![PUBLIC.into()],
        allowed_origins: vec![ORIGIN.into()],
    };
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    AppState {
        site_root: std::env::temp_dir(),
        models: std::env::temp_dir(),
        api: Arc::new(Api::new(Some(model), keys, limits, store)),
    }
}

fn state() -> AppState {
    state_with(RateLimits::default())
}

/// A response: status, headers we look at, and the JSON body.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

async fn send(state: &AppState, request: Request<Body>, ip: [u8; 4]) -> Answer {
    let mut request = request;
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer {
        status,
        retry_after,
        body,
    }
}

fn chat_request(key: Option<&str>, origin: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder =
        Request::post("/api/v1/chat").header(header::CONTENT_TYPE, "application/json");
    if let Some(key) = key {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    if let Some(origin) = origin {
        builder = builder.header(header::ORIGIN, origin);
    }
    builder.body(body.into()).unwrap()
}

fn admin_get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .body(Body::empty())
        .unwrap()
}

async fn chat(state: &AppState, body: Value) -> Answer {
    send(
        state,
        chat_request(Some(ADMIN), None, body.to_string()),
        [10, 0, 0, 1],
    )
    .await
}

#[tokio::test]
async fn a_conversation_is_answered_kept_and_listed() {
    let state = state();
    let first = chat(
        &state,
        json!({"user_id": "u1", "session_id": null, "query": "几点开门", "context": {"name": "李雷"}}),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["reply"], "9点开门，李雷。");
    assert_eq!(first.body["intents"][0]["name"], "hours");
    assert!(first.body["intents"][0]["confidence"].as_f64().unwrap() > 0.3);
    let session = first.body["session_id"].as_str().unwrap().to_owned();
    assert_eq!(session.len(), 32);

    let second = chat(
        &state,
        json!({"user_id": "u1", "session_id": session, "query": "能送到北京吗"}),
    )
    .await;
    assert_eq!(second.body["reply"], "可以送到北京。");
    assert_eq!(
        second.body["entities"],
        json!([{"type": "city", "value": "北京", "start": 3, "end": 5}])
    );
    // An action with no server skill yet: its fallback answers, and the response names it.
    let third = chat(
        &state,
        json!({"user_id": "u1", "session_id": session, "query": "还有库存吗"}),
    )
    .await;
    assert_eq!(third.body["action"], "check_stock");
    assert_eq!(third.body["reply"], "暂时无法查询库存。");

    let sessions = send(&state, admin_get("/api/v1/sessions"), [10, 0, 0, 9]).await;
    assert_eq!(sessions.status, 200);
    assert_eq!(sessions.body[0]["session_id"], session.as_str());
    assert_eq!(sessions.body[0]["message_count"], 6);
    let messages = send(
        &state,
        admin_get(&format!("/api/v1/sessions/{session}/messages")),
        [10, 0, 0, 9],
    )
    .await;
    let texts: Vec<(&str, &str)> = messages
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["author"].as_str().unwrap(), m["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        texts,
        [
            ("visitor", "几点开门"),
            ("bot", "9点开门，李雷。"),
            ("visitor", "能送到北京吗"),
            ("bot", "可以送到北京。"),
            ("visitor", "还有库存吗"),
            ("bot", "暂时无法查询库存。"),
        ]
    );
    let missing = send(
        &state,
        admin_get("/api/v1/sessions/nosuchsession/messages"),
        [10, 0, 0, 9],
    )
    .await;
    assert_eq!(
        (missing.status, missing.body["code"].as_str()),
        (404, Some("session_not_found"))
    );
    // Another user cannot continue this session.
    let stolen = chat(
        &state,
        json!({"user_id": "u2", "session_id": session, "query": "几点开门"}),
    )
    .await;
    assert_eq!(
        (stolen.status, stolen.body["code"].as_str()),
        (403, Some("forbidden"))
    );
}

#[tokio::test]
async fn a_handoff_silences_the_bot_until_the_agent_hands_back() {
    let state = state();
    let first = chat(&state, json!({"user_id": "u1", "query": "转人工"})).await;
    assert_eq!(first.body["reply"], "正在为您转接人工客服。");
    assert_eq!(first.body["handoff"], true);
    let session = first.body["session_id"].as_str().unwrap().to_owned();
    let sessions = send(&state, admin_get("/api/v1/sessions"), [10, 0, 3, 1]).await;
    assert_eq!(sessions.body[0]["mode"], "agent");
    // The visitor writes; the bot says nothing, the message waits for the person.
    let waiting = chat(
        &state,
        json!({"user_id": "u1", "session_id": session, "query": "几点开门"}),
    )
    .await;
    assert_eq!(
        (
            waiting.body["reply"].as_str(),
            waiting.body["handoff"].as_bool()
        ),
        (Some(""), Some(true))
    );
    let post = |uri: String, body: Value| {
        Request::post(uri)
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let reply = send(
        &state,
        post(
            format!("/api/v1/sessions/{session}/messages"),
            json!({"text": "我们9点开门。"}),
        ),
        [10, 0, 3, 1],
    )
    .await;
    assert_eq!(
        (reply.status, reply.body["author"].as_str()),
        (200, Some("agent"))
    );
    let back = send(
        &state,
        post(
            format!("/api/v1/sessions/{session}/handoff"),
            json!({"to": "bot"}),
        ),
        [10, 0, 3, 1],
    )
    .await;
    assert_eq!(back.body["mode"], "bot");
    let answered = chat(
        &state,
        json!({"user_id": "u1", "session_id": session, "query": "周末开门吗"}),
    )
    .await;
    assert_eq!(answered.body["reply"], "周末照常营业。");
    let history = send(
        &state,
        admin_get(&format!("/api/v1/sessions/{session}/messages")),
        [10, 0, 3, 1],
    )
    .await;
    let authors: Vec<&str> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"].as_str().unwrap())
        .collect();
    assert_eq!(
        authors,
        ["visitor", "bot", "visitor", "agent", "visitor", "bot"]
    );
    let bad = send(
        &state,
        post(
            format!("/api/v1/sessions/{session}/handoff"),
            json!({"to": "robot"}),
        ),
        [10, 0, 3, 1],
    )
    .await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (422, Some("to")));
    let missing = send(
        &state,
        post(
            "/api/v1/sessions/nosuchsession1/handoff".into(),
            json!({"to": "bot"}),
        ),
        [10, 0, 3, 1],
    )
    .await;
    assert_eq!(missing.status, 404);
    // The owner's endpoints read bodies up to the same limit as the chat endpoint.
    let padding = "x".repeat(chatlet_server::MAX_BODY_BYTES);
    for path in ["messages", "handoff"] {
        let huge = send(
            &state,
            post(
                format!("/api/v1/sessions/{session}/{path}"),
                json!({"text": padding, "to": "bot"}),
            ),
            [10, 0, 3, 1],
        )
        .await;
        assert_eq!(
            (huge.status, huge.body["code"].as_str()),
            (413, Some("payload_too_large")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn keys_and_origins_are_checked() {
    let state = state();
    let body = json!({"user_id": "u", "query": "几点开门"}).to_string();
    let cases: [(Option<&str>, Option<&str>, u16, &str); 5] = [
        (None, None, 401, "unauthorized"),
        (Some("wrong-key"), None, 401, "unauthorized"),
        (Some(PUBLIC), None, 403, "forbidden"),
        (Some(PUBLIC), Some("https://evil.example"), 403, "forbidden"),
        (Some(PUBLIC), Some(ORIGIN), 200, ""),
    ];
    for (key, origin, status, code) in cases {
        let answer = send(
            &state,
            chat_request(key, origin, body.clone()),
            [10, 0, 1, 1],
        )
        .await;
        assert_eq!(answer.status, status, "{key:?} {origin:?}: {}", answer.body);
        if !code.is_empty() {
            assert_eq!(answer.body["code"], code);
        }
    }
    // The public key cannot read history or metrics.
    let request = Request::get("/api/v1/sessions")
        .header(header::AUTHORIZATION, format!("Bearer {PUBLIC}"))
        .header(header::ORIGIN, ORIGIN)
        .body(Body::empty())
        .unwrap();
    let answer = send(&state, request, [10, 0, 1, 1]).await;
    assert_eq!(
        (answer.status, answer.body["code"].as_str()),
        (403, Some("forbidden"))
    );
    let metrics = send(&state, admin_get("/metrics"), [10, 0, 1, 1]).await;
    let text = metrics.body.as_str().unwrap();
    assert!(text.contains("chatlet_chat_turns_total 1"), "{text}");
    assert!(
        text.contains("chatlet_http_responses_total{class=\"4xx\"} 5"),
        "{text}"
    );
}

#[tokio::test]
async fn bad_requests_get_their_own_errors() {
    let state = state();
    let cases: [(String, u16, &str, Option<&str>); 11] = [
        ("{not json".into(), 400, "malformed_json", None),
        ("[1, 2]".into(), 400, "malformed_json", None),
        (
            json!({"query": "hi"}).to_string(),
            422,
            "invalid_field",
            Some("user_id"),
        ),
        (
            json!({"user_id": 5, "query": "hi"}).to_string(),
            422,
            "invalid_field",
            Some("user_id"),
        ),
        (
            json!({"user_id": "u", "query": ["hi"]}).to_string(),
            422,
            "invalid_field",
            Some("query"),
        ),
        (
            json!({"user_id": "u", "query": "   "}).to_string(),
            422,
            "invalid_field",
            Some("query"),
        ),
        (
            json!({"user_id": "u", "query": "x".repeat(2001)}).to_string(),
            422,
            "invalid_field",
            Some("query"),
        ),
        (
            json!({"user_id": "u", "query": "hi", "session_id": "../../etc"}).to_string(),
            422,
            "invalid_field",
            Some("session_id"),
        ),
        (
            json!({"user_id": "u", "query": "hi", "context": {"a": {"b": 1}}}).to_string(),
            422,
            "invalid_field",
            Some("context.a"),
        ),
        (
            json!({"user_id": "u", "query": "hi", "mood": "happy"}).to_string(),
            422,
            "invalid_field",
            Some("mood"),
        ),
        (
            "x".repeat(chatlet_server::MAX_BODY_BYTES + 1),
            413,
            "payload_too_large",
            None,
        ),
    ];
    for (body, status, code, field) in cases {
        let shown = body.chars().take(60).collect::<String>();
        let answer = send(&state, chat_request(Some(ADMIN), None, body), [10, 0, 2, 1]).await;
        assert_eq!(answer.status, status, "{shown}: {}", answer.body);
        assert_eq!(answer.body["code"], code, "{shown}");
        assert_eq!(answer.body["field"].as_str(), field, "{shown}");
    }
    // After all that, a good request is still answered.
    let answer = chat(&state, json!({"user_id": "u", "query": "周末开门吗"})).await;
    assert_eq!(answer.body["reply"], "周末照常营业。");
}

#[tokio::test]
async fn a_flood_from_one_address_is_limited_and_others_are_served() {
    let state = state_with(RateLimits {
        per_key: (1000.0, 1000.0),
        per_address: (1.0, 5.0),
    });
    let body = json!({"user_id": "u", "query": "几点开门"}).to_string();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..8 {
        let answer = send(
            &state,
            chat_request(Some(ADMIN), None, body.clone()),
            [10, 9, 9, 9],
        )
        .await;
        statuses.push(answer.status);
        retry_after = retry_after.or(answer.retry_after);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    assert_eq!(retry_after.as_deref(), Some("1"));
    let other = send(
        &state,
        chat_request(Some(ADMIN), None, body),
        [10, 9, 9, 10],
    )
    .await;
    assert_eq!(other.status, 200);
}

#[tokio::test]
async fn without_keys_or_model_the_api_says_so() {
    let disabled = AppState {
        site_root: std::env::temp_dir(),
        models: std::env::temp_dir(),
        api: Arc::new(Api::disabled()),
    };
    let answer = chat(&disabled, json!({"user_id": "u", "query": "hi"})).await;
    assert_eq!(
        (answer.status, answer.body["code"].as_str()),
        (503, Some("not_configured"))
    );
    let openapi = send(
        &disabled,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
        [10, 0, 0, 1],
    )
    .await;
    assert_eq!(openapi.status, 200);
    for path in [
        "/api/v1/chat",
        "/api/v1/sessions",
        "/api/v1/sessions/{id}/messages",
        "/metrics",
    ] {
        assert!(openapi.body["paths"][path].is_object(), "{path} documented");
    }
}
