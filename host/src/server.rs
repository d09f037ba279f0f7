//! The HTTP front door: accepts connections, routes requests, applies limits, logs, shuts down
//! gracefully.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use wasmtime_wasi_http::WasiBody;

use crate::limits::{HostError, LimitedBody, LingeringBody};
use crate::routes::set_spin_headers;
use crate::runtime::{CallError, Response, Runtime};

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
        crate::instances::shutting_down();
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
        response.map(|body| {
            RequestLog {
                method,
                path,
                component,
                status,
                started,
                bytes: 0,
                body,
            }
            .boxed_unsync()
        })
    }

    async fn dispatch(
        &self,
        req: http::Request<Incoming>,
    ) -> Result<(String, Response), (String, HostError)> {
        let Some(routed) = self.runtime.router().route(req.uri().path()) else {
            let message = format!("no route for {} {}", req.method(), req.uri().path());
            return Err((
                String::new(),
                HostError::new(StatusCode::NOT_FOUND, "not_found", message),
            ));
        };
        let component = routed.component.clone();
        let max = self.limits.max_body_size;
        let declared = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > max) {
            return Err((component, too_large(max)));
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
        let (body, progress) = LimitedBody::new(LingeringBody::new(body, max), max);
        let request = http::Request::from_parts(parts, body.boxed_unsync());

        let result = self.runtime.call(&component, request).await;
        // A body over the limit fails the guest's read; whatever it answered, the cause is the size.
        if progress.too_large() {
            return Err((component, too_large(max)));
        }
        match result {
            Ok(response) => Ok((component, response)),
            Err(CallError::Timeout) if progress.stalled_by_client() => Err((
                component,
                HostError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    format!(
                        "request body not received within {}s",
                        self.limits.request_timeout.as_secs_f64()
                    ),
                ),
            )),
            Err(CallError::Timeout) => Err((
                component.clone(),
                HostError::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "component_timeout",
                    format!(
                        "component {component:?} did not respond within {}s",
                        self.limits.request_timeout.as_secs_f64()
                    ),
                ),
            )),
            Err(CallError::Failed(message)) => {
                tracing::warn!(component = %component, error = %message, "component failed");
                Err((
                    component.clone(),
                    HostError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "component_failed",
                        format!("component {component:?} failed: {message}"),
                    ),
                ))
            }
            Err(CallError::UnknownComponent) => Err((
                component.clone(),
                HostError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("component {component:?} is not running"),
                ),
            )),
        }
    }
}

fn too_large(max: u64) -> HostError {
    HostError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("request body exceeds the {max}-byte limit"),
    )
}

/// Passes the response body through and logs one line for the request when it ends.
struct RequestLog {
    method: http::Method,
    path: String,
    component: String,
    status: StatusCode,
    started: Instant,
    bytes: u64,
    body: WasiBody,
}

impl Body for RequestLog {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.bytes += data.len() as u64;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        tracing::info!(
            method = %self.method,
            path = %self.path,
            component = %self.component,
            status = self.status.as_u16(),
            bytes = self.bytes,
            duration_ms = self.started.elapsed().as_millis() as u64,
            "request"
        );
    }
}
