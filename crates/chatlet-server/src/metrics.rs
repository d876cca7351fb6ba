//! Counters for `GET /metrics`, in Prometheus' text format.

use crate::Api;
use crate::error::ApiError;
use crate::gateway::Role;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the server counts since it started.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// Responses by status class: 2xx, 3xx, 4xx, 5xx.
    responses: [AtomicU64; 4],
    chat_turns: AtomicU64,
}

impl Metrics {
    pub(crate) fn count_chat(&self) {
        self.chat_turns.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_response(&self, status: u16) {
        if let Some(counter) = (status / 100)
            .checked_sub(2)
            .and_then(|i| self.responses.get(usize::from(i)))
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn render(&self) -> String {
        let mut out = String::from(
            "# HELP chatlet_http_responses_total HTTP responses by status class.\n\
             # TYPE chatlet_http_responses_total counter\n",
        );
        for (i, counter) in self.responses.iter().enumerate() {
            out.push_str(&format!(
                "chatlet_http_responses_total{{class=\"{}xx\"}} {}\n",
                i + 2,
                counter.load(Ordering::Relaxed)
            ));
        }
        out.push_str(&format!(
            "# HELP chatlet_chat_turns_total Chat turns answered.\n\
             # TYPE chatlet_chat_turns_total counter\nchatlet_chat_turns_total {}\n",
            self.chat_turns.load(Ordering::Relaxed)
        ));
        out
    }
}

/// `GET /metrics` (admin key).
pub(crate) async fn metrics(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    api.gateway
        .admit(&headers, crate::client_address(&request), Role::Admin)?;
    Ok((
        [("content-type", "text/plain; version=0.0.4")],
        api.metrics.render() + &api.skills.render_metrics(),
    )
        .into_response())
}
