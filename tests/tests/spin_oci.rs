//! The app as an OCI artifact: `spin registry push` to a registry on loopback (Debian's
//! `docker-registry`), then `spin up --from` that reference serves it. Skips, saying why,
//! without a Spin CLI or the registry.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vox_app_tests::{App, fixture, free_port, manifest_components, spin, words, workspace_root};
use vox_testing::Launch;

/// The distribution registry from Debian's `docker-registry` package (`make test` installs it).
const REGISTRY: &str = "/usr/bin/docker-registry";

/// Spin's media types for an application artifact's parts.
const WASM_LAYER: &str = "application/vnd.wasm.content.layer.v1+wasm";
const DATA_LAYER: &str = "application/vnd.wasm.content.layer.v1+data";

/// The key the app pulled from the registry is started with.
const API_KEY: &str = "oci-round-trip-key";

/// A registry on a loopback port, storing under `target/`; stopped and emptied when dropped.
struct Registry {
    child: Child,
    addr: String,
    dir: PathBuf,
}

impl Registry {
    fn start() -> Registry {
        let dir = workspace_root().join(format!("target/spin/registry-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: {addr}\n",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new(REGISTRY)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("registry.log")).unwrap())
            .spawn()
            .expect("start docker-registry");
        let registry = Registry { child, addr, dir };
        let agent = agent();
        let started = Instant::now();
        loop {
            if let Ok(resp) = agent.get(&registry.url("/v2/")).call()
                && resp.status() == 200
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "docker-registry did not answer on {}",
                registry.addr
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn run(cli: &Path, args: &[&str]) -> String {
    let output = Command::new(cli)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "spin {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn pushed_artifact_serves_the_app() {
    let cli = match spin::cli() {
        Ok(cli) => cli,
        Err(reason) => return spin::skip("pushed_artifact_serves_the_app", &reason),
    };
    if !Path::new(REGISTRY).exists() {
        return spin::skip(
            "pushed_artifact_serves_the_app",
            &format!("{REGISTRY} is missing (Debian's docker-registry; `make test` installs it)"),
        );
    }
    let registry = Registry::start();
    let reference = format!("{}/vox:test", registry.addr);
    let manifest = workspace_root().join("spin.toml");
    run(
        &cli,
        &[
            "registry",
            "push",
            "--insecure",
            "-f",
            manifest.to_str().unwrap(),
            &reference,
        ],
    );

    // What went into the artifact: every component and every mounted file, as layers.
    let mut resp = agent()
        .get(&registry.url("/v2/vox/manifests/test"))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .call()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let oci: serde_json::Value = resp.body_mut().read_json().unwrap();
    let layers = oci["layers"].as_array().expect("layers");
    let count = |media: &str| layers.iter().filter(|l| l["mediaType"] == media).count();
    let size = |media: &str| -> u64 {
        layers
            .iter()
            .filter(|l| l["mediaType"] == media)
            .map(|l| l["size"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(
        count(WASM_LAYER),
        manifest_components().len(),
        "one wasm layer per component of spin.toml: {oci}"
    );
    assert!(
        count(DATA_LAYER) > 0,
        "the models travel as data layers: {oci}"
    );
    let wasm = size(WASM_LAYER);
    assert!(
        wasm > 100 << 20,
        "pre-initialised snapshots are pushed: {wasm} bytes"
    );
    let total: u64 = layers.iter().map(|l| l["size"].as_u64().unwrap()).sum();
    spin::note(&format!(
        "artifact {reference}: {} layers, {:.0} MB ({} wasm layers {:.0} MB, {} data layers {:.0} MB)",
        layers.len(),
        total as f64 / 1e6,
        count(WASM_LAYER),
        wasm as f64 / 1e6,
        count(DATA_LAYER),
        size(DATA_LAYER) as f64 / 1e6
    ));

    // Served from the registry, with a cache of its own so the pull really happens, and with
    // the API key set as a deployment sets it (SpinKube binds it from a Secret).
    let cache = registry.dir.join("spin-cache");
    let mut command = Command::new(&cli);
    command
        .args(["up", "--insecure", "--from", &reference])
        .args(["--variable", &format!("api_key={API_KEY}")])
        .args(["--listen", "127.0.0.1:0"])
        .arg("--cache-dir")
        .arg(&cache)
        .arg("--log-dir")
        .arg(registry.dir.join("logs"))
        .current_dir(&registry.dir);
    let log = registry.dir.join("spin-up.log");
    let app = App::serve(Launch::new(command).own_process_group().stderr_to(log));
    // The probes answer without the key; everything else needs it.
    let (status, ready) = app.get_json("/ready");
    assert_eq!(status, 200, "{ready}");
    let resp = app.post("/api/tts", "text/plain", b"Hello.");
    assert_eq!(resp.status, 401, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.error_code(), "invalid_api_key");
    let audio = fixture("jfk.flac");
    let mut resp = app
        .agent()
        .post(&app.url("/api/asr"))
        .header("authorization", &format!("Bearer {API_KEY}"))
        .header("content-type", "audio/flac")
        .send(&audio[..])
        .unwrap();
    let body = resp.body_mut().read_to_vec().unwrap();
    assert_eq!(resp.status(), 200, "{}", String::from_utf8_lossy(&body));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        words(json["text"].as_str().unwrap()),
        words(
            "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
        )
    );
}
