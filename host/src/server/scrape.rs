//! The Prometheus scrape endpoint: `GET /metrics` on its own address, apart from the app's
//! routes (the app owns every path of the main listener, as under Spin).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use vox_error::ErrorCode;

use crate::metrics::Metrics;

/// Prometheus' text exposition format, version 0.0.4 (what `Metrics::encode` writes is
/// also valid there).
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub struct MetricsEndpoint {
    listener: TcpListener,
    metrics: Arc<Metrics>,
}

impl MetricsEndpoint {
    pub async fn bind(addr: SocketAddr, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for metrics"))?;
        Ok(Self { listener, metrics })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves scrapes until dropped.
    pub async fn run(self) {
        loop {
            let Ok((stream, _)) = self.listener.accept().await else {
                continue;
            };
            let metrics = self.metrics.clone();
            let service = hyper::service::service_fn(move |req| {
                let metrics = metrics.clone();
                async move { Ok::<_, Infallible>(answer(&req, &metrics)) }
            });
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }
}

fn answer<B>(req: &http::Request<B>, metrics: &Metrics) -> http::Response<Full<Bytes>> {
    let (status, content_type, body) = match (req.method(), req.uri().path()) {
        (&http::Method::GET, "/metrics") => (200, CONTENT_TYPE, metrics.encode()),
        _ => (
            404,
            "application/json",
            serde_json::json!({"error": {
                "code": ErrorCode::NotFound.as_str(),
                "message": "the metrics endpoint serves GET /metrics",
            }})
            .to_string(),
        ),
    };
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts are valid")
}
