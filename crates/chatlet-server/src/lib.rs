//! chatlet's server: `app(state)` builds the axum router that serves the demo page, the widget
//! build (`pkg/`), the loader's assets (`www/`), trained models and the JSON API (chat with the
//! server's bot, conversation history, OpenAPI document, metrics).

mod answer_json;
mod chat;
mod chat_body;
mod clock;
mod connections;
mod error;
mod gateway;
mod history;
mod memory_store;
mod metrics;
mod response_layer;
mod session_ids;
mod skills;
mod socket;
mod storage;

pub use chat::{MAX_BODY_BYTES, MAX_QUERY_CHARS};
pub use error::ApiError;
pub use gateway::{ApiKeys, RateLimits};
pub use memory_store::MemoryStore;
pub use skills::{SkillConfigError, SkillSettings, Skills};
pub use socket::SocketLimits;
pub use storage::{
    MessageRecord, NewMessage, SessionState, SqliteStore, Storage, StorageError, TurnWrite,
};

use axum::extract::{ConnectInfo, Request};
use axum::{
    Json, Router,
    routing::{get, post},
};
use chatlet_engine::Model;
use chatlet_protocol::Health;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::services::ServeDir;

/// Everything the JSON API works with.
pub struct Api {
    /// The bot that answers `/api/v1/chat`.
    model: Option<Arc<Model>>,
    /// Its intents' names, shared: each answer's ranking refers to them instead of copying ten.
    intent_names: Vec<Arc<str>>,
    gateway: gateway::Gateway,
    /// Sessions and messages (a database's turns committed in groups, one group at a time).
    history: history::History,
    metrics: Arc<metrics::Metrics>,
    connections: Arc<connections::Registry>,
    socket_limits: SocketLimits,
    /// A session's turns run one at a time (see `chat::run_turn`).
    session_locks: connections::SessionLocks,
    session_ids: session_ids::SessionIds,
    /// Set when the server stops: sockets close with "going away".
    shutdown: tokio::sync::watch::Sender<bool>,
    /// The actions answered by webhooks.
    skills: Skills,
}

impl Api {
    pub fn new(
        model: Option<Model>,
        keys: ApiKeys,
        limits: RateLimits,
        store: Arc<dyn Storage>,
    ) -> Api {
        let intent_names = model.as_ref().map_or_else(Vec::new, |m| {
            m.classifier()
                .labels()
                .iter()
                .map(|l| Arc::from(l.as_str()))
                .collect()
        });
        Api {
            model: model.map(Arc::new),
            intent_names,
            gateway: gateway::Gateway::new(keys, limits),
            history: history::History::new(store),
            metrics: Arc::default(),
            connections: Arc::default(),
            socket_limits: SocketLimits::default(),
            session_locks: connections::SessionLocks::default(),
            session_ids: session_ids::SessionIds::default(),
            shutdown: tokio::sync::watch::channel(false).0,
            skills: Skills::default(),
        }
    }

    /// The same API with actions answered by these webhooks.
    pub fn with_skills(mut self, skills: Skills) -> Api {
        self.skills = skills;
        self
    }

    /// The same API with other socket timeouts and limits.
    pub fn with_socket_limits(mut self, limits: SocketLimits) -> Api {
        self.socket_limits = limits;
        self
    }

    /// Open WebSocket connections (with a known client address).
    pub fn open_sockets(&self) -> usize {
        self.connections.count()
    }

    /// Closes every socket with "going away" (the server is stopping).
    pub fn close_sockets(&self) {
        self.shutdown.send_replace(true);
    }

    /// No keys and no model: the API answers `not_configured`, static files are served.
    pub fn disabled() -> Api {
        Api::new(
            None,
            ApiKeys::default(),
            RateLimits::default(),
            Arc::new(MemoryStore::new()),
        )
    }
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("model", &self.model.as_ref().map(|m| m.name().to_owned()))
            .finish_non_exhaustive()
    }
}

/// Where the server finds what it serves.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The project root: `index.html`, `pkg/` and `www/` are served from here.
    pub site_root: PathBuf,
    /// Trained models, served under `/models/`.
    pub models: PathBuf,
    pub api: Arc<Api>,
}

/// The client's address, when the server was started with connection info (tests may omit it).
pub(crate) fn client_address(request: &Request) -> Option<IpAddr> {
    address_in(request.extensions())
}

/// The client's address recorded in a request's extensions.
pub(crate) fn address_in(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

/// The OpenAPI document of the JSON API.
const OPENAPI: &str = include_str!("../openapi.json");

/// The server's router. Only these paths are served: nothing else under `site_root` is reachable.
pub fn app(state: AppState) -> Router {
    let site = &state.site_root;
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/chat", post(chat::chat))
        .route("/api/v1/sessions", get(chat::sessions))
        .route(
            "/api/v1/sessions/{id}/messages",
            get(chat::messages).post(chat::agent_message),
        )
        .route("/api/v1/sessions/{id}/handoff", post(chat::handoff))
        .route("/api/v1/ws", get(socket::socket))
        .route_service(
            "/agent",
            tower_http::services::ServeFile::new(site.join("www").join("agent.html")),
        )
        .route(
            "/api/v1/openapi.json",
            get(|| async { ([("content-type", "application/json")], OPENAPI) }),
        )
        .route("/metrics", get(metrics::metrics))
        .route_service(
            "/",
            tower_http::services::ServeFile::new(site.join("index.html")),
        )
        .nest_service("/pkg", ServeDir::new(site.join("pkg")))
        .nest_service("/www", ServeDir::new(site.join("www")))
        .nest_service("/models", ServeDir::new(&state.models))
        .fallback(|| async { ApiError::NotFound })
        .layer(response_layer::ResponseLayer::new(
            state.api.metrics.clone(),
        ))
        // Handlers get the API alone: axum clones the state for every request, and the paths
        // above (two `PathBuf`s) would be copied with it.
        .with_state(state.api)
}

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        model_format: chatlet_engine::FORMAT_VERSION,
    })
}

/// Serves `app(state)` on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> anyhow::Result<()> {
    let api = state.api.clone();
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        // Open sockets would hold the graceful shutdown forever.
        api.close_sockets();
    })
    .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}
