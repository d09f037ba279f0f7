//! Starts the real Vox app under `vox up` (and, where a Spin CLI is at hand, under `spin up`)
//! once per test binary and talks to it over HTTP.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use vox_testing::workspace_root;

/// The components spin.toml declares, by id, each with its table (`source`, `build`, ...).
pub fn manifest_components() -> toml::Table {
    let manifest: toml::Table = std::fs::read_to_string(workspace_root().join("spin.toml"))
        .expect("read spin.toml")
        .parse()
        .expect("spin.toml is TOML");
    manifest["component"]
        .as_table()
        .expect("spin.toml has components")
        .clone()
}
use vox_testing::{Launch, Vox};

pub mod spin;

/// A fixture file shipped with these tests.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = workspace_root().join("tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A clip of the whisper library's fixtures (LibriSpeech clips and JFK, with references).
pub fn whisper_fixture(name: &str) -> Vec<u8> {
    let path = workspace_root()
        .join("crates/whisper/tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// The tests of one binary share one app, and an instance computes one request at a time, so
/// a test that times a stream holds this lock exclusively while the others share it.
pub fn timing_lock() -> &'static std::sync::RwLock<()> {
    static LOCK: std::sync::RwLock<()> = std::sync::RwLock::new(());
    &LOCK
}

/// A running `vox up` (or `spin up`) serving the repository's `spin.toml`.
pub struct App {
    server: Vox,
    agent: ureq::Agent,
}

/// The app shared by every test in this binary; started on first use.
pub fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| App::start(&workspace_root().join("spin.toml"), &[], &[], None))
}

/// The app on the portable components only (`vox up --inference wasm`): every model runs
/// inside its component, as under Spin, where [`app`] runs tts's voice on the host's native
/// tract through wasi:nn.
pub fn portable_app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        App::start(
            &workspace_root().join("spin.toml"),
            &[],
            &["--inference", "wasm"],
            None,
        )
    })
}

/// The key [`keyed_app`] requires.
pub const API_KEY: &str = "vox-test-key-5b2e";

/// The app with the `api_key` variable set, so every API call needs [`API_KEY`].
pub fn keyed_app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        App::start(
            &workspace_root().join("spin.toml"),
            &[("SPIN_VARIABLE_API_KEY", API_KEY)],
            &[],
            None,
        )
    })
}

/// Where tests keep tools installed once (`make test-deps`): `$VOX_CACHE`, else `~/.cache/vox`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("VOX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/vox"))
}

/// The app as an operator runs it: Prometheus metrics on their own port (`metrics_url`) and
/// JSON log lines written to a file (`log`).
pub fn operated_app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        let dir = workspace_root().join("target/operated-app");
        std::fs::create_dir_all(&dir).unwrap();
        App::start(
            &workspace_root().join("spin.toml"),
            &[],
            &["--metrics-listen", "127.0.0.1:0", "--log-format", "json"],
            Some(dir.join("vox.log")),
        )
    })
}

/// The app with a small host body limit (`vox up --max-body-size`), so the host itself answers
/// an upload with 413 before any component sees it.
pub fn small_body_app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        App::start(
            &workspace_root().join("spin.toml"),
            &[],
            &["--max-body-size", &SMALL_BODY_LIMIT.to_string()],
            None,
        )
    })
}

/// The host body limit of [`small_body_app`], in bytes.
pub const SMALL_BODY_LIMIT: u64 = 64 * 1024;

/// The app with the asr decoder in f32 (`asr_compute_type = float32`), its graphs on the host
/// through wasi:nn: instances load the model on their first request, since the start-up
/// preparation and the snapshot hold the default int8 one.
pub fn float32_app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| float32_on(&[]))
}

/// [`float32_app`] on the portable components (`--inference wasm`), as under Spin.
pub fn float32_portable_app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| float32_on(&["--inference", "wasm"]))
}

fn float32_on(args: &[&str]) -> App {
    App::start(
        &workspace_root().join("spin.toml"),
        &[("SPIN_VARIABLE_ASR_COMPUTE_TYPE", "float32")],
        args,
        None,
    )
}

/// Where the app's example responder listens (spin.toml's `responder` component).
pub const RESPONDER_URL: &str = "http://responder.spin.internal/reply";

/// The app with the end-to-end flow's responder turned on (`responder_url`).
pub fn responder_app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        App::start(
            &workspace_root().join("spin.toml"),
            &[("SPIN_VARIABLE_RESPONDER_URL", RESPONDER_URL)],
            &[],
            None,
        )
    })
}

/// The same app under the real Spin (`spin up`, see [`spin`]), or why it cannot run here.
pub fn spin_app() -> Result<&'static App, String> {
    static APP: OnceLock<Result<App, String>> = OnceLock::new();
    APP.get_or_init(|| spin::cli().map(|cli| App::start_spin(&cli)))
        .as_ref()
        .map_err(Clone::clone)
}

/// The same app, but with asr and tts built to initialise lazily (loading their models on
/// the first request) instead of the pre-initialised snapshots `spin.toml` names, on the portable
/// path (`--inference wasm`) the snapshots belong to.
pub fn lazy_app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| App::start(&lazy_manifest(), &[], &["--inference", "wasm"], None))
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

/// Keeps instances (and their loaded models) across the tests' requests, under both hosts.
const IDLE_INSTANCE_TIMEOUT: &str = "600s";

/// What serving the app needs that `make build` and `make models` make.
fn check_built(root: &Path) {
    for path in [
        "target/release/vox",
        "target/preinit/vox_asr.wasm",
        "target/preinit/vox_tts.wasm",
        "target/wasm32-wasip2/release/vox_tts_nn.wasm",
    ] {
        assert!(
            root.join(path).exists(),
            "{path} is missing: run `make build` (or `make test`)"
        );
    }
    for dir in ["models/whisper/tiny.en", "models/voices"] {
        assert!(
            root.join(dir).exists(),
            "{dir} is missing: run `make models`"
        );
    }
}

impl App {
    /// Serves `manifest` with extra environment variables (Spin variables among them), extra
    /// `vox up` arguments, and its log sent to `log` when given.
    fn start(manifest: &Path, env: &[(&str, &str)], args: &[&str], log: Option<PathBuf>) -> App {
        let root = workspace_root();
        check_built(&root);
        let mut launch = Vox::up(&root.join("target/release/vox"), manifest)
            .args(["--idle-instance-timeout", IDLE_INSTANCE_TIMEOUT])
            .args(args)
            .current_dir(&root);
        for (key, value) in env {
            launch = launch.env(key, value);
        }
        if let Some(log) = log {
            launch = launch.stderr_to(log);
        }
        App::serve(launch)
    }

    /// `spin up` on the repository's `spin.toml`, as built by `make build`. The model
    /// directories are mounted in place (`--direct-mounts`) rather than copied to a temporary
    /// directory at every start, as `spin up` does by default.
    fn start_spin(cli: &Path) -> App {
        let root = workspace_root();
        check_built(&root);
        let mut command = Command::new(cli);
        command
            .arg("up")
            .arg("-f")
            .arg(root.join("spin.toml"))
            .args(["--listen", "127.0.0.1:0"])
            .arg("--direct-mounts")
            .arg("--log-dir")
            .arg(root.join("target/spin/logs"))
            .args(["--idle-instance-timeout", IDLE_INSTANCE_TIMEOUT])
            .current_dir(&root);
        // Spin's own log (and its shutdown noise) goes to a file, read if it fails to start.
        let log = root.join("target/spin/spin-up.log");
        App::serve(Launch::new(command).own_process_group().stderr_to(log))
    }

    /// Starts a server and waits until the gateway answers `/health`.
    pub fn serve(launch: Launch) -> App {
        let server = launch.start();
        reap_with_this_process(&server.kill_target());
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
        panic!("the app did not become healthy within {limit:?}");
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// The Prometheus scrape URL from the banner, when started with `--metrics-listen`.
    pub fn metrics_url(&self) -> Option<String> {
        self.server
            .banner
            .lines()
            .find_map(|l| l.strip_prefix("Metrics: "))
            .map(|url| url.trim().to_string())
    }

    /// What vox logged so far, when its log goes to a file.
    pub fn log(&self) -> String {
        self.server.stderr()
    }

    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// The `vox up` process (for what it spends, as [`cpu_seconds`] reads it).
    pub fn pid(&self) -> u32 {
        self.server.child.id()
    }

    /// POSTs `body` and reads the answer as it arrives: each line with the time it came,
    /// counted from just before the request was sent.
    pub fn post_lines(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Timed<String> {
        let started = Instant::now();
        let mut request = self.agent.post(&self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut resp = request.send(body).expect("POST");
        let status = resp.status().as_u16();
        let mut items = Vec::new();
        let reader = std::io::BufReader::new(resp.body_mut().as_reader());
        for line in std::io::BufRead::lines(reader) {
            items.push((started.elapsed(), line.expect("read a line")));
        }
        Timed { status, items }
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

    /// POST a JSON document; returns status, headers and body.
    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> Response {
        self.post(path, "application/json", body.to_string().as_bytes())
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

/// Runs a check script (Python driving a client against the app); panics with its output
/// unless it succeeds and prints `ok_line`.
pub fn run_check(command: &mut Command, ok_line: &str) {
    let output = command.output().expect("run the check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(ok_line), "{stdout}");
    print!("{stdout}");
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

/// A 16-bit mono WAV file of `samples` at `rate` Hz.
pub fn wav(samples: &[i16], rate: u32) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// What arrived, each piece with when it came.
pub struct Timed<T> {
    pub status: u16,
    pub items: Vec<(Duration, T)>,
}

impl Timed<String> {
    /// Each `data:` line of an event stream as JSON, with the `event:` name before it (empty
    /// when none) and its arrival time.
    pub fn events(&self) -> Vec<(Duration, String, serde_json::Value)> {
        let mut out = Vec::new();
        let mut name = None;
        for (t, line) in &self.items {
            if let Some(n) = line.strip_prefix("event: ") {
                name = Some(n.to_string());
            } else if let Some(data) = line.strip_prefix("data: ") {
                let value = serde_json::from_str(data)
                    .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {data}"));
                out.push((*t, name.take().unwrap_or_default(), value));
            }
        }
        out
    }
}

/// CPU time (user + system) a process has used so far, in seconds (Linux `/proc`).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / clock_ticks_per_second()
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
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

    /// Asserts a 200, showing the body otherwise, and returns the response.
    pub fn expect_ok(self, what: &str) -> Self {
        assert_eq!(
            self.status,
            200,
            "{what}: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
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

/// The SDK version `tests/openai_sdk_check.py` is pinned to.
const OPENAI_SDK: &str = "openai==3.51.0";

/// A venv with the pinned SDK, created once and kept in the cache directory.
fn openai_sdk_python() -> PathBuf {
    let venv = cache_dir().join("venv-openai-3.51.0");
    let python = venv.join("bin/python");
    if !python.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                OPENAI_SDK,
            ])
            .status()
            .unwrap();
        assert!(status.success(), "pip install {OPENAI_SDK} failed");
    }
    python
}

/// Runs `tests/openai_sdk_check.py` (the official `openai` Python SDK, unchanged) against
/// `base_url` and asserts that it passed.
pub fn assert_openai_sdk_works(base_url: &str) {
    run_check(
        Command::new(openai_sdk_python())
            .arg(workspace_root().join("tests/openai_sdk_check.py"))
            .args(["--base-url", base_url, "--audio"])
            .arg(workspace_root().join("tests/fixtures/jfk.flac")),
        "openai sdk check: ok",
    );
}

/// A loopback port nothing listens on right now, for a server that cannot pick its own.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
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

/// Word error rate of `hypothesis` against `reference` (case and punctuation ignored, as
/// [`words`]): word-level edit distance over the reference's length.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let (r, h) = (words(reference), words(hypothesis));
    let mut row: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, hw) in h.iter().enumerate() {
            let cost = if rw == hw { prev } else { prev + 1 };
            prev = row[j + 1];
            row[j + 1] = cost.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[h.len()] as f64 / r.len() as f64
}

/// The server outlives no test binary: a watchdog stops it when this process is gone.
#[expect(
    clippy::zombie_processes,
    reason = "the watchdog must outlive this process, so nothing waits for it"
)]
fn reap_with_this_process(server: &str) {
    let me = std::process::id();
    let script =
        format!("while kill -0 {me} 2>/dev/null; do sleep 0.5; done; kill -- {server} 2>/dev/null");
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start watchdog");
}
