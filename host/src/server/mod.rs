//! The HTTP front door: accepts connections, routes requests, applies limits, logs, shuts down
//! gracefully.

mod body;
mod error;

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

use self::body::MeteredBody;
pub use self::error::HostError;
use crate::config::routes::set_spin_headers;
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
}

impl Server {
    pub fn new(
        listener: TcpListener,
        runtime: Arc<Runtime>,
        limits: RequestLimits,
        shutdown_grace: Duration,
    ) -> Self {
        Self {
            listener,
            runtime,
            limits,
            shutdown_grace,
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

struct RequestContext {
    runtime: Arc<Runtime>,
    limits: RequestLimits,
    client: SocketAddr,
    local: SocketAddr,
}

impl RequestContext {
    async fn handle(&self, req: http::Request<Incoming>) -> Response {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let (component, response) = match self.dispatch(req).await {
            Ok((component, response)) => (component, response),
            Err((component, error)) => (component, error.into_response()),
        };
        let status = response.status();
        // One line per request, once its response body has been sent (or abandoned).
        response.map(|body| {
            MeteredBody::response(body, move |sent| {
                tracing::info!(
                    method = %method,
                    path = %path,
                    component = %component,
                    status = status.as_u16(),
                    bytes = sent.received(),
                    duration_ms = started.elapsed().as_millis() as u64,
                    "request"
                );
            })
            .boxed_unsync()
        })
    }

    async fn dispatch(
        &self,
        req: http::Request<Incoming>,
    ) -> Result<(String, Response), (String, HostError)> {
        let Some(routed) = self.runtime.router().route(req.uri().path()) else {
            let error = HostError::NotFound {
                method: req.method().clone(),
                path: req.uri().path().to_string(),
            };
            return Err((String::new(), error));
        };
        let component = routed.component.clone();
        let max = self.limits.max_body_size;
        let too_large = HostError::PayloadTooLarge { limit: max };
        let declared = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > max) {
            return Err((component, too_large));
        }

        let (mut parts, body) = req.into_parts();
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
        // A body over the limit fails the guest's read; whatever it answered, the cause is the size.
        if progress.too_large() {
            return Err((component, too_large));
        }
        let timeout = self.limits.request_timeout;
        let error = match result {
            Ok(response) => return Ok((component, response)),
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
        Err((component, error))
    }
}
