//! The HTTP front door: accepts connections, routes requests, applies limits, logs, shuts down
//! gracefully.

mod error;
mod scrape;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tracing::Instrument;
use vox_api::request_id;

pub use self::error::HostError;
pub use self::scrape::MetricsEndpoint;
use crate::body::{BodyProgress, MeteredBody};
use crate::config::routes::set_spin_headers;
use crate::metrics::{Metrics, RequestRecord};
use crate::runtime::{CallError, Response, Runtime};

/// The largest request body accepted unless configured otherwise: 64 MiB.
pub const DEFAULT_MAX_BODY_SIZE: u64 = 64 * 1024 * 1024;

/// Per-request limits enforced by the host before and around the component.
#[derive(Debug, Clone)]
pub struct RequestLimits {
    pub max_body_size: u64,
    pub request_timeout: Duration,
}

pub struct Server {
    listener: TcpListener,
    runtime: Arc<Runtime>,
    limits: RequestLimits,
    shutdown_grace: Duration,
    metrics: Arc<Metrics>,
}

impl Server {
    pub fn new(
        listener: TcpListener,
        runtime: Arc<Runtime>,
        limits: RequestLimits,
        shutdown_grace: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            listener,
            runtime,
            limits,
            shutdown_grace,
            metrics,
        }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish (up to the grace
    /// period) while refusing new connections.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let graceful = GracefulShutdown::new();
        let local = self.listener.local_addr()?;
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, client) = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                },
            };
            // Small streamed chunks must not wait for Nagle.
            let _ = stream.set_nodelay(true);
            let ctx = Arc::new(RequestContext {
                runtime: self.runtime.clone(),
                limits: self.limits.clone(),
                metrics: self.metrics.clone(),
                client,
                local,
            });
            let service = hyper::service::service_fn(move |req| {
                let ctx = ctx.clone();
                async move { Ok::<_, Infallible>(ctx.handle(req).await) }
            });
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            });
        }
        // Closing the listener makes new connections fail fast instead of queueing.
        drop(self.listener);
        tracing::info!("shutting down: waiting for in-flight requests");
        if tokio::time::timeout(self.shutdown_grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                grace_s = self.shutdown_grace.as_secs(),
                "in-flight requests cut off after the grace period"
            );
        }
        crate::runtime::instances::shutting_down();
        Ok(())
    }
}

/// The status logged and counted for a request whose client closed the connection before its
/// answer was sent: nginx's 499, which whisper.cpp's server logs too.
const CLIENT_CLOSED_REQUEST: u16 = 499;

struct RequestContext {
    runtime: Arc<Runtime>,
    limits: RequestLimits,
    metrics: Arc<Metrics>,
    client: SocketAddr,
    local: SocketAddr,
}

impl RequestContext {
    async fn handle(&self, mut req: http::Request<Incoming>) -> Response {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let request_id = request_id(&mut req);
        let span = tracing::info_span!("request", request_id = %request_id);
        let Dispatched {
            component,
            received: bytes_in,
            result,
        } = self.dispatch(req).instrument(span).await;
        let response = result.unwrap_or_else(|error| {
            let code = error.code().as_str();
            self.metrics
                .component_answered("host", error.status().as_u16(), Some(code));
            error.into_response(vox_api::ErrorStyle::for_path(&path))
        });
        let status = response.status();
        let metrics = self.metrics.clone();
        // One line per request, once its response body has been sent (or abandoned).
        response.map(|body| {
            MeteredBody::response(body, move |sent| {
                let duration = started.elapsed();
                // The client left: mid-answer (a HEAD answer's body is never sent, so it cannot
                // be abandoned), or mid-upload, whatever the component made of the broken body.
                let left_mid_answer = sent.abandoned() && method != http::Method::HEAD;
                let status = if left_mid_answer || bytes_in.failed() {
                    CLIENT_CLOSED_REQUEST
                } else {
                    status.as_u16()
                };
                tracing::info!(
                    request_id = %request_id,
                    method = %method,
                    path = %path,
                    component = %component,
                    status,
                    bytes_in = bytes_in.received(),
                    bytes = sent.received(),
                    duration_ms = duration.as_millis() as u64,
                    "request"
                );
                metrics.request_done(&RequestRecord {
                    component: &component,
                    method: method.as_str(),
                    path: &path,
                    status,
                    bytes_in: bytes_in.received(),
                    bytes_out: sent.received(),
                    duration,
                });
            })
            .boxed_unsync()
        })
    }

    async fn dispatch(&self, req: http::Request<Incoming>) -> Dispatched {
        let Some(routed) = self.runtime.router().route(req.uri().path()) else {
            let error = HostError::NotFound {
                method: req.method().clone(),
                path: req.uri().path().to_string(),
            };
            return Dispatched::early(String::new(), error);
        };
        let component = routed.component.clone();
        let max = self.limits.max_body_size;
        let too_large = HostError::PayloadTooLarge { limit: max };
        let declared = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let (mut parts, body) = req.into_parts();
        if let Some(len) = declared.filter(|&len| len > max) {
            // The upload is still arriving: read it away in the background (as any half-read
            // upload is, up to twice the limit) so the client gets to read the 413 rather than
            // a connection reset under its unread bytes.
            drop(MeteredBody::request(body, len.min(max.saturating_mul(2))));
            return Dispatched::early(component, too_large);
        }

        let authority = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| self.local.to_string());
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_string();
        let full_url = format!("http://{authority}{path_and_query}");
        if let Ok(uri) = full_url.parse() {
            parts.uri = uri;
        }
        set_spin_headers(&mut parts.headers, &routed, &full_url, Some(self.client));
        let (body, progress) = MeteredBody::request(body, max);
        let request = http::Request::from_parts(parts, body.boxed_unsync());

        let result = self.runtime.call(&component, request).await;
        let answered = |result| Dispatched {
            component: component.clone(),
            received: progress.clone(),
            result,
        };
        // A body over the limit fails the guest's read; whatever it answered, the cause is the size.
        if progress.too_large() {
            return answered(Err(too_large));
        }
        let timeout = self.limits.request_timeout;
        let error = match result {
            Ok(response) => return answered(Ok(response)),
            Err(CallError::Timeout) if progress.stalled_by_client() => {
                HostError::RequestTimeout { timeout }
            }
            Err(CallError::Timeout) => HostError::ComponentTimeout {
                component: component.clone(),
                timeout,
            },
            Err(CallError::Failed(message)) => {
                tracing::warn!(component = %component, error = %message, "component failed");
                HostError::ComponentFailed {
                    component: component.clone(),
                    message,
                }
            }
            Err(CallError::UnknownComponent) => HostError::NotRunning {
                component: component.clone(),
            },
        };
        answered(Err(error))
    }
}

/// What became of a request the server passed on (or answered itself).
struct Dispatched {
    /// The routed component; empty when no route matched.
    component: String,
    /// The request body as it passed through.
    received: Arc<BodyProgress>,
    result: Result<Response, HostError>,
}

impl Dispatched {
    /// Answered by the host before the component saw the request.
    fn early(component: String, error: HostError) -> Self {
        Self {
            component,
            received: Arc::default(),
            result: Err(error),
        }
    }
}

/// The request's id: the client's `x-request-id` when sane, else a fresh one, set on the
/// request so the components (the gateway adopts it) and the log line share it.
fn request_id<B>(req: &mut http::Request<B>) -> String {
    let header = req
        .headers()
        .get(request_id::HEADER)
        .and_then(|v| v.to_str().ok());
    let id = request_id::accept(header).unwrap_or_else(request_id::generate);
    if let Ok(value) = http::HeaderValue::from_str(&id) {
        req.headers_mut().insert(request_id::HEADER, value);
    }
    id
}
