//! Server-side skills: a bot's actions answered by HTTP webhooks. Every call is bounded by the
//! action's `timeout_ms` (waiting for a free slot included) and retried within it on network
//! errors, 429 and 5xx; calls beyond the concurrency limit wait in a bounded queue, and a call
//! that finds the queue full fails at once. A failed call answers with the action's fallback, so
//! a slow or broken skill costs its own visitor a fallback, never the server a thread.

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, Request, StatusCode, Uri, header};
use chatlet_engine::Slots;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// The largest webhook answer read, in bytes.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The longest text a webhook may answer with, in characters.
const MAX_ANSWER_CHARS: usize = 4000;
/// The most slots one answer may set.
const MAX_ANSWER_SLOTS: usize = 32;
/// The wait before the first retry; it doubles with each one.
const FIRST_RETRY: Duration = Duration::from_millis(100);

/// Which actions are webhooks, and how they are called.
#[derive(Debug, Clone)]
pub struct SkillSettings {
    /// Action name → webhook URL (`https://host/path` or `http://host:port/path`).
    pub webhooks: BTreeMap<String, String>,
    /// PEM certificates trusted for https webhooks besides Mozilla's roots (a private CA).
    pub extra_roots_pem: Option<Vec<u8>>,
    /// Sent as `Authorization: Bearer …`, so a webhook can tell chatlet's calls from others.
    pub token: Option<String>,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Calls that may wait for a free slot; beyond them a call fails at once.
    pub queue: usize,
    /// Tries per call, the first included.
    pub attempts: u32,
}

impl Default for SkillSettings {
    fn default() -> Self {
        SkillSettings {
            webhooks: BTreeMap::new(),
            extra_roots_pem: None,
            token: None,
            concurrency: 32,
            queue: 256,
            attempts: 3,
        }
    }
}

/// A webhook that cannot be used, found when the server starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillConfigError {
    pub action: String,
    pub url: String,
    pub reason: &'static str,
}

impl SkillConfigError {
    /// A problem with the settings as a whole, not one webhook.
    fn general(reason: &'static str) -> SkillConfigError {
        SkillConfigError {
            action: String::new(),
            url: String::new(),
            reason,
        }
    }
}

impl std::fmt::Display for SkillConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.action.is_empty() {
            return write!(f, "skills: {}", self.reason);
        }
        write!(
            f,
            "skill `{}` at `{}`: {}",
            self.action, self.url, self.reason
        )
    }
}

impl std::error::Error for SkillConfigError {}

/// What one call asks the webhook; sent as its JSON body.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct SkillRequest {
    pub(crate) action: String,
    pub(crate) session_id: String,
    pub(crate) user_id: String,
    /// The visitor's message that led to the action.
    pub(crate) text: String,
    pub(crate) slots: BTreeMap<String, String>,
    /// The number of the visitor's message: with the session id, the same for every try of
    /// one call (sent as `Idempotency-Key`).
    pub(crate) seq: u64,
    #[serde(skip)]
    pub(crate) timeout: Duration,
}

/// A webhook's answer: `{"text": "...", "slots": {"name": "value"}}`, both optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SkillAnswer {
    pub(crate) text: Option<String>,
    pub(crate) slots: Slots,
}

/// Why a call gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SkillFailure {
    /// No webhook is configured for the action.
    Unknown,
    /// The queue was full.
    QueueFull,
    /// The action's timeout passed.
    Timeout,
    /// The webhook could not be reached (after the retries).
    Network,
    /// The webhook answered with this status (after the retries for 429 and 5xx).
    Status(u16),
    /// The answer was not the expected JSON, or too large.
    BadAnswer,
}

impl SkillFailure {
    /// Its place in [`FAILURES`] and `Outcomes::failed`.
    fn index(self) -> usize {
        match self {
            SkillFailure::Unknown => 0,
            SkillFailure::QueueFull => 1,
            SkillFailure::Timeout => 2,
            SkillFailure::Network => 3,
            SkillFailure::Status(_) => 4,
            SkillFailure::BadAnswer => 5,
        }
    }
}

/// Counts of calls by how they ended, for `/metrics`.
#[derive(Debug, Default)]
struct Outcomes {
    answered: AtomicU64,
    retries: AtomicU64,
    failed: [AtomicU64; 6],
}

/// The configured webhooks and the client that calls them.
pub struct Skills {
    webhooks: HashMap<String, Uri>,
    authorization: Option<HeaderValue>,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    slots: Semaphore,
    /// Calls admitted (in flight or waiting).
    admitted: AtomicUsize,
    max_admitted: usize,
    attempts: u32,
    outcomes: Outcomes,
}

impl std::fmt::Debug for Skills {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Skills")
            .field("actions", &self.webhooks.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for Skills {
    fn default() -> Self {
        Skills::new(SkillSettings::default()).unwrap_or_else(|_| unreachable!("no webhooks"))
    }
}

/// Releases a call's place in the queue however the call ends.
struct Admission<'a>(&'a AtomicUsize);

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Skills {
    /// Checks every webhook URL (`https://` or `http://`, with a host) and the extra roots.
    pub fn new(settings: SkillSettings) -> Result<Skills, SkillConfigError> {
        let mut webhooks = HashMap::new();
        for (action, url) in &settings.webhooks {
            let error = |reason| SkillConfigError {
                action: action.clone(),
                url: url.clone(),
                reason,
            };
            let uri: Uri = url
                .parse()
                .map_err(|_| error("not a URL (expected https://host/path)"))?;
            if !matches!(uri.scheme_str(), Some("https" | "http")) {
                return Err(error("the URL must start with https:// or http://"));
            }
            if uri.host().is_none_or(str::is_empty) {
                return Err(error("the URL has no host"));
            }
            webhooks.insert(action.clone(), uri);
        }
        let authorization = match &settings.token {
            Some(token) => Some(HeaderValue::from_str(&format!("Bearer {token}")).map_err(
                |_| SkillConfigError::general("the skill token must be printable ASCII"),
            )?),
            None => None,
        };
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(settings.extra_roots_pem.as_deref())?)
            .https_or_http()
            .enable_http1()
            .build();
        let concurrency = settings.concurrency.max(1);
        Ok(Skills {
            webhooks,
            authorization,
            client: Client::builder(TokioExecutor::new()).build(connector),
            slots: Semaphore::new(concurrency),
            admitted: AtomicUsize::new(0),
            max_admitted: concurrency + settings.queue,
            attempts: settings.attempts.max(1),
            outcomes: Outcomes::default(),
        })
    }

    /// Whether `action` is a webhook.
    pub(crate) fn handles(&self, action: &str) -> bool {
        self.webhooks.contains_key(action)
    }

    /// Calls the action's webhook, within the request's timeout.
    pub(crate) async fn call(&self, request: &SkillRequest) -> Result<SkillAnswer, SkillFailure> {
        let result = self.try_call(request).await;
        match &result {
            Ok(_) => {
                self.outcomes.answered.fetch_add(1, Ordering::Relaxed);
            }
            Err(failure) => {
                self.outcomes.failed[failure.index()].fetch_add(1, Ordering::Relaxed);
                tracing::warn!(action = %request.action, session = %request.session_id, failure = ?failure, "skill failed; the fallback answers");
            }
        }
        result
    }

    async fn try_call(&self, request: &SkillRequest) -> Result<SkillAnswer, SkillFailure> {
        let deadline = Instant::now() + request.timeout;
        let uri = self
            .webhooks
            .get(&request.action)
            .ok_or(SkillFailure::Unknown)?;
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.max_admitted {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(SkillFailure::QueueFull);
        }
        let _admission = Admission(&self.admitted);
        let _slot = tokio::time::timeout_at(deadline, self.slots.acquire())
            .await
            .map_err(|_| SkillFailure::Timeout)?
            .map_err(|_| SkillFailure::QueueFull)?;
        let body = Bytes::from(serde_json::to_vec(request).unwrap_or_default());
        let idempotency_key =
            HeaderValue::from_str(&format!("{}-{}", request.session_id, request.seq))
                .map_err(|_| SkillFailure::BadAnswer)?;
        let mut wait = FIRST_RETRY;
        let mut attempt = 1;
        loop {
            let mut call = Request::builder()
                .method(Method::POST)
                .uri(uri.clone())
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", idempotency_key.clone());
            if let Some(authorization) = &self.authorization {
                call = call.header(header::AUTHORIZATION, authorization.clone());
            }
            let call = call
                .body(Full::new(body.clone()))
                .map_err(|_| SkillFailure::BadAnswer)?;
            let failure = match tokio::time::timeout_at(deadline, self.client.request(call)).await {
                Err(_) => return Err(SkillFailure::Timeout),
                Ok(Err(_)) => SkillFailure::Network,
                Ok(Ok(response)) if response.status().is_success() => {
                    let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES);
                    let bytes = tokio::time::timeout_at(deadline, body.collect())
                        .await
                        .map_err(|_| SkillFailure::Timeout)?
                        .map_err(|_| SkillFailure::BadAnswer)?
                        .to_bytes();
                    return parse_answer(&bytes);
                }
                Ok(Ok(response)) => {
                    let status = response.status();
                    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
                        return Err(SkillFailure::Status(status.as_u16()));
                    }
                    SkillFailure::Status(status.as_u16())
                }
            };
            // A retry that could not finish before the deadline is not worth starting.
            if attempt >= self.attempts || Instant::now() + wait >= deadline {
                return Err(failure);
            }
            self.outcomes.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            wait *= 2;
            attempt += 1;
        }
    }

    /// The skill counters in Prometheus' text format.
    pub(crate) fn render_metrics(&self) -> String {
        let mut out = String::from(
            "# HELP chatlet_skill_calls_total Skill webhook calls by outcome.\n\
             # TYPE chatlet_skill_calls_total counter\n",
        );
        out.push_str(&format!(
            "chatlet_skill_calls_total{{outcome=\"answered\"}} {}\n",
            self.outcomes.answered.load(Ordering::Relaxed)
        ));
        for (label, counter) in FAILURES.iter().zip(&self.outcomes.failed) {
            out.push_str(&format!(
                "chatlet_skill_calls_total{{outcome=\"{label}\"}} {}\n",
                counter.load(Ordering::Relaxed)
            ));
        }
        out.push_str(&format!(
            "# HELP chatlet_skill_retries_total Skill webhook calls tried again.\n\
             # TYPE chatlet_skill_retries_total counter\nchatlet_skill_retries_total {}\n",
            self.outcomes.retries.load(Ordering::Relaxed)
        ));
        out
    }
}

/// TLS for https webhooks: rustls with Mozilla's roots, and the extra PEM roots if any.
fn tls_config(extra_roots_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, SkillConfigError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_roots_pem {
        let mut added = 0;
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate = certificate
                .map_err(|_| SkillConfigError::general("the extra roots are not valid PEM"))?;
            roots.add(certificate).map_err(|_| {
                SkillConfigError::general("an extra root is not a usable certificate")
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(SkillConfigError::general(
                "the extra roots hold no PEM certificate",
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| SkillConfigError::general("no TLS version is available"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The failure labels for `/metrics`, by [`SkillFailure::index`].
const FAILURES: [&str; 6] = [
    "unknown",
    "queue_full",
    "timeout",
    "network",
    "status",
    "bad_answer",
];

/// Reads `{"text": string, "slots": {name: string | number | bool}}`; other fields are ignored
/// so webhooks can say more than this version understands.
fn parse_answer(bytes: &[u8]) -> Result<SkillAnswer, SkillFailure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(SkillAnswer::default());
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(bytes) else {
        return Err(SkillFailure::BadAnswer);
    };
    let text = match fields.get("text") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.chars().count() <= MAX_ANSWER_CHARS => {
            Some(t.clone()).filter(|t| !t.trim().is_empty())
        }
        Some(_) => return Err(SkillFailure::BadAnswer),
    };
    let mut slots = Slots::new();
    match fields.get("slots") {
        None | Some(Value::Null) => {}
        Some(Value::Object(entries)) if entries.len() <= MAX_ANSWER_SLOTS => {
            for (name, value) in entries {
                let value = match value {
                    Value::String(s) if s.chars().count() <= 500 => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err(SkillFailure::BadAnswer),
                };
                slots.insert(name.clone(), value);
            }
        }
        Some(_) => return Err(SkillFailure::BadAnswer),
    }
    Ok(SkillAnswer { text, slots })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_field_by_field() {
        let answer = parse_answer(br#"{"text": "shipped", "slots": {"eta": 3, "paid": true, "city": "Paris"}, "extra": 1}"#).unwrap();
        assert_eq!(answer.text.as_deref(), Some("shipped"));
        assert_eq!(answer.slots.get("eta").unwrap(), "3");
        assert_eq!(answer.slots.get("paid").unwrap(), "true");
        assert_eq!(answer.slots.get("city").unwrap(), "Paris");
        assert_eq!(parse_answer(b"  ").unwrap(), SkillAnswer::default());
        assert_eq!(parse_answer(br#"{"text": "  "}"#).unwrap().text, None);
        for bad in [
            &b"[1]"[..],
            b"not json",
            br#"{"text": 5}"#,
            br#"{"slots": [1]}"#,
            br#"{"slots": {"a": {"b": 1}}}"#,
        ] {
            assert_eq!(parse_answer(bad), Err(SkillFailure::BadAnswer), "{bad:?}");
        }
        let long = format!(r#"{{"text": "{}"}}"#, "a".repeat(MAX_ANSWER_CHARS + 1));
        assert_eq!(parse_answer(long.as_bytes()), Err(SkillFailure::BadAnswer));
    }

    #[test]
    fn webhook_urls_are_checked_at_start() {
        let settings = |url: &str| SkillSettings {
            webhooks: [("check".to_owned(), url.to_owned())].into(),
            ..SkillSettings::default()
        };
        assert!(Skills::new(settings("http://127.0.0.1:9000/hook")).is_ok());
        assert!(Skills::new(settings("https://skills.example/hook")).is_ok());
        for (url, reason) in [
            ("ftp://skills.example/hook", "https://"),
            ("/hook", "https://"),
            ("http:// bad", "not a URL"),
        ] {
            let error = Skills::new(settings(url)).unwrap_err();
            assert_eq!(error.url, url);
            assert!(error.to_string().contains(reason), "{error}");
        }
        for (pem, reason) in [
            (&b"no certificate here"[..], "no PEM certificate"),
            (
                b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
                "usable",
            ),
        ] {
            let error = Skills::new(SkillSettings {
                extra_roots_pem: Some(pem.to_vec()),
                ..settings("https://skills.example/hook")
            })
            .unwrap_err();
            assert_eq!(error.to_string(), format!("skills: {}", error.reason));
            assert!(error.reason.contains(reason), "{error}");
        }
    }

    /// A private CA, and a certificate it signed for 127.0.0.1: (CA PEM, certificate, key).
    fn private_ca() -> (
        String,
        CertificateDer<'static>,
        rustls::pki_types::PrivateKeyDer<'static>,
    ) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let certificate = params.signed_by(&key, &ca).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        (ca.pem(), certificate.der().clone(), key)
    }

    /// An https webhook on an ephemeral 127.0.0.1 port that answers every call with `answer`,
    /// for at most `connections` connections; its URL.
    async fn https_webhook(
        certificate: CertificateDer<'static>,
        key: rustls::pki_types::PrivateKeyDer<'static>,
        answer: &'static str,
        connections: usize,
    ) -> String {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certificate], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router =
            axum::Router::new().route("/hook", axum::routing::post(move || async move { answer }));
        tokio::spawn(async move {
            for _ in 0..connections {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, router) = (acceptor.clone(), router.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let service = hyper_util::service::TowerToHyperService::new(router);
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                            .await;
                    }
                });
            }
        });
        format!("https://{address}/hook")
    }

    #[tokio::test]
    async fn https_webhooks_are_called_over_tls_and_their_certificates_checked() {
        let (ca_pem, certificate, key) = private_ca();
        let url = https_webhook(certificate, key, r#"{"text": "in stock"}"#, 8).await;
        let request = SkillRequest {
            action: "check".to_owned(),
            session_id: "s1".to_owned(),
            user_id: "u1".to_owned(),
            text: "有货吗".to_owned(),
            slots: BTreeMap::new(),
            seq: 1,
            timeout: Duration::from_secs(5),
        };
        let skills = |roots: Option<&str>| {
            Skills::new(SkillSettings {
                webhooks: [("check".to_owned(), url.clone())].into(),
                extra_roots_pem: roots.map(|pem| pem.as_bytes().to_vec()),
                attempts: 1,
                ..SkillSettings::default()
            })
            .unwrap()
        };
        let trusting = skills(Some(&ca_pem));
        let answer = trusting.call(&request).await.unwrap();
        assert_eq!(answer.text.as_deref(), Some("in stock"));
        // Without the private CA the certificate is unknown: no answer, the fallback speaks.
        assert_eq!(
            skills(None).call(&request).await,
            Err(SkillFailure::Network)
        );
    }
}
