//! chatlet's server: `app(state)` builds the axum router that serves the demo page, the widget
//! build (`pkg/`), the loader's assets (`www/`), trained models and the JSON API.

mod error;

pub use error::ApiError;

use axum::{Json, Router, http::HeaderValue, routing::get};
use chatlet_protocol::Health;
use std::path::PathBuf;
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

/// Where the server finds what it serves.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The project root: `index.html`, `pkg/` and `www/` are served from here.
    pub site_root: PathBuf,
    /// Trained models, served under `/models/`.
    pub models: PathBuf,
}

/// The server's router. Only these paths are served: nothing else under `site_root` is reachable.
pub fn app(state: AppState) -> Router {
    let site = &state.site_root;
    Router::new()
        .route("/api/v1/health", get(health))
        .route_service(
            "/",
            tower_http::services::ServeFile::new(site.join("index.html")),
        )
        .nest_service("/pkg", ServeDir::new(site.join("pkg")))
        .nest_service("/www", ServeDir::new(site.join("www")))
        .nest_service("/models", ServeDir::new(&state.models))
        .fallback(|| async { ApiError::NotFound })
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
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
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
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
