//! Test harness: builds the test components once, writes manifests into temp dirs, runs
//! `vox up` as a child process (through the shared launcher) and talks HTTP to it.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use tokio::sync::mpsc;
pub use vox_testing::{Vox, workspace_root};

/// The probe on every route: the app of tests that need one component and nothing else.
/// `{probe}` is replaced by [`AppDir::new`] (or by the test, to name a copy).
pub const PROBE_APP: &str = r#"
spin_manifest_version = 2

[application]
name = "probe-app"

[[trigger.http]]
route = "/..."
component = "probe"

[component.probe]
source = "{probe}"
"#;

/// Test components get their own target dir so this nested cargo never waits on the lock
/// the outer `cargo test` holds.
fn components_target_dir() -> PathBuf {
    workspace_root().join("target").join("test-components")
}

/// The probe component, built once per test run.
pub fn probe_wasm() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target_dir = components_target_dir();
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "-p",
                "vox-test-probe",
            ])
            .current_dir(workspace_root())
            .env("CARGO_TARGET_DIR", &target_dir)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("run cargo to build the test components");
        assert!(status.success(), "building test components failed");
        let wasm = target_dir.join("wasm32-wasip2/release/vox_test_probe.wasm");
        assert!(wasm.is_file(), "{} missing after build", wasm.display());
        wasm
    })
}

/// A temp dir holding a manifest; dropped with the test.
pub struct AppDir {
    pub dir: tempfile::TempDir,
}

impl AppDir {
    /// Writes `spin.toml` with `{probe}` replaced by the probe component's path.
    pub fn new(manifest: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let probe = probe_wasm().display().to_string();
        std::fs::write(
            dir.path().join("spin.toml"),
            manifest.replace("{probe}", &probe),
        )
        .unwrap();
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn manifest(&self) -> PathBuf {
        self.dir.path().join("spin.toml")
    }
}

/// Serves `app` with the vox built for these tests.
pub fn start(app: &AppDir, args: &[&str]) -> Vox {
    start_with_env(app, args, &[])
}

pub fn start_with_env(app: &AppDir, args: &[&str], env: &[(&str, &str)]) -> Vox {
    let stderr_path = app
        .path()
        .join(format!("vox-stderr-{}.txt", next_log_number()));
    let mut launch = Vox::up(Path::new(env!("CARGO_BIN_EXE_vox")), &app.manifest())
        .args(args)
        .env_remove("RUST_LOG")
        .stderr_to(stderr_path);
    if !args.contains(&"--cache-dir") {
        // Shared across tests so the probe compiles once, not once per server.
        launch = launch
            .arg("--cache-dir")
            .arg(components_target_dir().join("compiled-cache"));
    }
    for (k, v) in env {
        launch = launch.env(k, v);
    }
    launch.start()
}

fn next_log_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

type ClientBody = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

async fn connect(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<ClientBody> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to vox");
    stream.set_nodelay(true).unwrap();
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    sender
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: ClientBody,
) -> http::Request<ClientBody> {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, addr.to_string())
        .body(body)
        .unwrap()
}

/// Sends one request with a complete body and reads the whole response.
pub async fn send(addr: SocketAddr, method: &str, path: &str, body: impl Into<Bytes>) -> Reply {
    let mut sender = connect(addr).await;
    let body = Full::new(body.into()).boxed();
    let resp = sender
        .send_request(request(addr, method, path, body))
        .await
        .expect("send request");
    read(resp).await
}

pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    send(addr, "GET", path, Bytes::new()).await
}

async fn read(resp: http::Response<Incoming>) -> Reply {
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("read response body").to_bytes();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

/// A request whose body the test feeds chunk by chunk, with the response read as it streams.
pub struct Duplex {
    pub body_tx: Option<mpsc::Sender<Bytes>>,
    pub status: u16,
    pub response: Incoming,
}

impl Duplex {
    /// Starts the request, sends `first`, and waits for the response headers.
    pub async fn open(addr: SocketAddr, method: &str, path: &str, first: &str) -> Self {
        let mut sender = connect(addr).await;
        let (tx, rx) = mpsc::channel::<Bytes>(4);
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|b| (Ok::<_, std::convert::Infallible>(Frame::data(b)), rx))
        });
        let body = StreamBody::new(stream).boxed();
        tx.send(Bytes::from(first.to_string())).await.unwrap();
        let resp = tokio::time::timeout(
            Duration::from_secs(20),
            sender.send_request(request(addr, method, path, body)),
        )
        .await
        .expect("response headers in time")
        .expect("send request");
        let (parts, response) = resp.into_parts();
        Self {
            body_tx: Some(tx),
            status: parts.status.as_u16(),
            response,
        }
    }

    pub async fn send(&self, chunk: &str) {
        self.body_tx
            .as_ref()
            .unwrap()
            .send(Bytes::from(chunk.to_string()))
            .await
            .unwrap();
    }

    pub fn finish(&mut self) {
        self.body_tx = None;
    }

    /// Reads response data until `expected` bytes arrived (chunk boundaries may differ).
    pub async fn expect(&mut self, expected: &str) {
        let mut got = Vec::new();
        let read = async {
            while got.len() < expected.len() {
                match self.response.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(d) = frame.data_ref() {
                            got.extend_from_slice(d);
                        }
                    }
                    other => panic!(
                        "response ended early ({other:?}) after {:?}",
                        String::from_utf8_lossy(&got)
                    ),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(20), read)
            .await
            .expect("echoed data in time");
        assert_eq!(String::from_utf8_lossy(&got), expected);
    }

    /// Reads the response to its end: what arrived, or the error that cut it short.
    pub async fn end(&mut self) -> Result<String, String> {
        let mut got = Vec::new();
        while let Some(frame) = tokio::time::timeout(Duration::from_secs(20), self.response.frame())
            .await
            .expect("response end in time")
        {
            match frame {
                Ok(frame) => got.extend_from_slice(frame.data_ref().map_or(&[][..], |d| d)),
                Err(e) => return Err(format!("{e} after {:?}", String::from_utf8_lossy(&got))),
            }
        }
        Ok(String::from_utf8_lossy(&got).into_owned())
    }

    /// Reads the rest of the response; returns what arrived.
    pub async fn rest(&mut self) -> String {
        let mut got = Vec::new();
        while let Some(frame) = tokio::time::timeout(Duration::from_secs(20), self.response.frame())
            .await
            .expect("response end in time")
        {
            if let Some(d) = frame.expect("response frame").data_ref() {
                got.extend_from_slice(d);
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    }
}

/// Sends `chunks` as a streamed body (optionally declaring `content_length`); with `stall` the
/// body is left open afterwards, like a client that stopped sending.
pub async fn send_stream(
    addr: SocketAddr,
    path: &str,
    chunks: &[String],
    content_length: Option<u64>,
    stall: bool,
) -> Reply {
    let mut sender = connect(addr).await;
    let (tx, rx) = mpsc::channel::<Bytes>(chunks.len().max(1));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::convert::Infallible>(Frame::data(b)), rx))
    });
    for chunk in chunks {
        tx.send(Bytes::from(chunk.clone())).await.unwrap();
    }
    let keep_open = stall.then_some(tx);
    let mut req = request(addr, "POST", path, StreamBody::new(stream).boxed());
    if let Some(len) = content_length {
        req.headers_mut()
            .insert(http::header::CONTENT_LENGTH, len.into());
    }
    let resp = tokio::time::timeout(Duration::from_secs(20), sender.send_request(req))
        .await
        .expect("response in time")
        .expect("send request");
    drop(keep_open);
    read(resp).await
}
