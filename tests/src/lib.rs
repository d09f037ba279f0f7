//! Starts the real Vox app under `vox up` once per test binary and talks to it over HTTP.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use vox_testing::Vox;
pub use vox_testing::workspace_root;

/// A fixture file shipped with these tests.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = workspace_root().join("tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// The tests of one binary share one app, and an instance computes one request at a time, so
/// a test that times a stream holds this lock exclusively while the others share it.
pub fn timing_lock() -> &'static std::sync::RwLock<()> {
    static LOCK: std::sync::RwLock<()> = std::sync::RwLock::new(());
    &LOCK
}

/// A running `vox up` serving the repository's `spin.toml`.
pub struct App {
    server: Vox,
    agent: ureq::Agent,
}

/// The app shared by every test in this binary; started on first use.
pub fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| App::start(&workspace_root().join("spin.toml")))
}

/// The same app, but with asr and tts built to initialise lazily (loading their models on
/// the first request) instead of the pre-initialised snapshots `spin.toml` names.
pub fn lazy_app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| App::start(&lazy_manifest()))
}

/// `spin.toml` with the components' sources switched to the plain builds; every relative
/// path is made absolute so the copy can live under `target/`.
fn lazy_manifest() -> PathBuf {
    let root = workspace_root();
    let original = std::fs::read_to_string(root.join("spin.toml")).expect("read spin.toml");
    let lazy = original.replace("\"target/preinit/", "\"target/wasm32-wasip2/release/");
    assert_ne!(
        lazy, original,
        "spin.toml no longer names pre-initialised components"
    );
    let lazy = lazy.replace("source = \"", &format!("source = \"{}/", root.display()));
    let dir = root.join("target/lazy-app");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("spin.toml");
    std::fs::write(&path, lazy).unwrap();
    path
}

impl App {
    fn start(manifest: &Path) -> App {
        let root = workspace_root();
        let vox = root.join("target/release/vox");
        assert!(
            vox.exists(),
            "{} is missing: run `make build` (or `make test`)",
            vox.display()
        );
        for dir in ["models/whisper/tiny.en", "models/voices"] {
            assert!(
                root.join(dir).exists(),
                "{dir} is missing: run `make models`"
            );
        }
        let server = Vox::up(&vox, manifest)
            // Keep instances (and their loaded models) across the tests' requests.
            .args(["--idle-instance-timeout", "600s"])
            .current_dir(&root)
            .start();
        reap_with_this_process(server.child.id());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(300)))
            .build()
            .into();
        let app = App { server, agent };
        app.wait_until_healthy(Duration::from_secs(300));
        app
    }

    fn wait_until_healthy(&self, limit: Duration) {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(resp) = self.agent.get(&self.url("/health")).call()
                && resp.status() == 200
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("vox up did not become healthy within {limit:?}");
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// GET a path; returns status and body.
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let mut resp = self.agent.get(&self.url(path)).call().expect("GET");
        let status = resp.status().as_u16();
        (status, read_all(resp.body_mut().as_reader()))
    }

    /// GET a path that answers JSON; returns status and the parsed body.
    pub fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let (status, body) = self.get(path);
        let json = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("{path}: not JSON ({e}): {}", String::from_utf8_lossy(&body))
        });
        (status, json)
    }

    /// POST a body with a content type; returns status, headers and body.
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Response {
        let mut resp = self
            .agent
            .post(&self.url(path))
            .header("content-type", content_type)
            .send(body)
            .expect("POST");
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        Response {
            status,
            headers,
            body: read_all(resp.body_mut().as_reader()),
        }
    }
}

/// A `multipart/form-data` body with text fields and one file; returns (content type, body).
pub fn multipart(fields: &[(&str, &str)], file: (&str, &str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "vox-test-boundary-7c1f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    let (name, filename, data) = file;
    body.extend_from_slice(
        format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
             content-type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A buffered response.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts the `{"error":{"code","message"}}` shape and returns the code.
    pub fn error_code(&self) -> String {
        let json = self.json();
        let message = json["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "error without message: {json}");
        json["error"]["code"]
            .as_str()
            .expect("error.code")
            .to_string()
    }
}

fn read_all(mut reader: impl Read) -> Vec<u8> {
    let mut body = Vec::new();
    reader.read_to_end(&mut body).expect("read body");
    body
}

/// Lower-cased words without their punctuation: how texts and transcripts are compared.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The server outlives no test binary: a watchdog stops it when this process is gone.
#[expect(
    clippy::zombie_processes,
    reason = "the watchdog must outlive this process, so nothing waits for it"
)]
fn reap_with_this_process(server_pid: u32) {
    let me = std::process::id();
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; kill {server_pid} 2>/dev/null"
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start watchdog");
}
