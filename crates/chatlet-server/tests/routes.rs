//! The router answered in memory with `oneshot`: health, static files, models and what must not be served.

use axum::{body::Body, http::Request};
use chatlet_server::{AppState, app};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn site() -> (tempdir::Site, AppState) {
    let site = tempdir::Site::new();
    site.write("index.html", "<!doctype html><title>demo</title>");
    site.write("pkg/chatlet_widget_bg.wasm", "\0asm");
    site.write("www/chatlet.css", "body{}");
    site.write("secret.txt", "do not serve");
    site.write("models/shop.chatlet", "CHATLET\0");
    let state = AppState {
        site_root: site.path().to_owned(),
        models: site.path().join("models"),
        api: std::sync::Arc::new(chatlet_server::Api::disabled()),
    };
    (site, state)
}

async fn get(state: &AppState, uri: &str) -> (u16, String, String) {
    let response = app(state.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn health_reports_version_and_model_format() {
    let (_site, state) = site();
    let (status, content_type, body) = get(&state, "/api/v1/health").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let health: chatlet_protocol::Health = serde_json::from_str(&body).unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!(health.model_format, chatlet_engine::FORMAT_VERSION);
}

#[tokio::test]
async fn serves_the_demo_widget_and_models_with_the_right_types() {
    let (_site, state) = site();
    let (status, content_type, body) = get(&state, "/").await;
    assert_eq!((status, content_type.as_str()), (200, "text/html"));
    assert!(body.contains("<title>demo</title>"));
    assert_eq!(
        get(&state, "/pkg/chatlet_widget_bg.wasm").await.1,
        "application/wasm"
    );
    assert_eq!(get(&state, "/www/chatlet.css").await.1, "text/css");
    let (status, _, body) = get(&state, "/models/shop.chatlet").await;
    assert_eq!((status, body.as_str()), (200, "CHATLET\0"));
}

#[tokio::test]
async fn nothing_outside_the_served_folders_is_reachable() {
    let (_site, state) = site();
    for uri in [
        "/secret.txt",
        "/pkg/../secret.txt",
        "/www/%2e%2e/secret.txt",
        "/models/../secret.txt",
        "/nope",
    ] {
        let (status, content_type, body) = get(&state, uri).await;
        assert_eq!(status, 404, "{uri}");
        assert!(!body.contains("do not serve"), "{uri}");
        if content_type == "application/json" {
            assert!(body.contains("\"code\":\"not_found\""), "{uri}: {body}");
        }
    }
}

#[tokio::test]
async fn every_response_is_stamped_nosniff_and_counted_by_status_class() {
    let (_site, mut state) = site();
    let keys = chatlet_server::ApiKeys {
        admin: vec!["admin-key".to_owned()],
        ..Default::default()
    };
    let api = chatlet_server::Api::new(
        None,
        keys,
        chatlet_server::RateLimits::default(),
        std::sync::Arc::new(chatlet_server::MemoryStore::new()),
    );
    state.api = std::sync::Arc::new(api);
    let admin =
        |request: axum::http::request::Builder| request.header("authorization", "Bearer admin-key");
    // Static files, the JSON API, a 404 from the fallback and one from a served folder, and a
    // chat the server cannot answer (it has no bot): each passes the response layer once.
    let requests = [
        Request::get("/"),
        Request::get("/www/chatlet.css"),
        Request::get("/api/v1/health"),
        Request::get("/nope"),
        Request::get("/pkg/none.js"),
        admin(Request::post("/api/v1/chat")).header("content-type", "application/json"),
    ];
    let warnings = Warnings::default();
    let _logging = tracing::subscriber::set_default(warnings.clone());
    let mut statuses = Vec::new();
    for request in requests {
        let body = Body::from(r#"{"user_id": "u", "query": "hi"}"#);
        let response = app(state.clone())
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        assert_eq!(
            response
                .headers()
                .get("x-content-type-options")
                .map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{}",
            statuses.len()
        );
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 404, 404, 503]);
    // Only the server error is logged as a warning, with its method and path.
    let logged = warnings.0.lock().unwrap().clone();
    assert_eq!(logged.len(), 1, "{logged:?}");
    for part in ["method=POST", "path=\"/api/v1/chat\"", "status=503"] {
        assert!(logged[0].contains(part), "{part} in {logged:?}");
    }
    let metrics = app(state.clone())
        .oneshot(admin(Request::get("/metrics")).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = metrics.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&text);
    for (class, count) in [("2xx", 3), ("3xx", 0), ("4xx", 2), ("5xx", 1)] {
        let line = format!("chatlet_http_responses_total{{class=\"{class}\"}} {count}\n");
        assert!(text.contains(&line), "{line:?} in {text}");
    }
}

/// A log subscriber that keeps the fields of every warning logged where it is the default.
#[derive(Default, Clone)]
struct Warnings(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl tracing::Subscriber for Warnings {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::WARN {
            let mut line = String::new();
            event.record(
                &mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
                    line.push_str(&format!("{}={value:?} ", field.name()));
                },
            );
            self.0.lock().unwrap().push(line);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// A throw-away directory, removed on drop.
mod tempdir {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub(crate) struct Site(PathBuf);

    impl Site {
        pub(crate) fn new() -> Site {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "chatlet-server-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Site(dir)
        }
        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
        pub(crate) fn write(&self, relative: &str, contents: &str) {
            let path = self.0.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
    }

    impl Drop for Site {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
