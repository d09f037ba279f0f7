//! The same `spin.toml` under the real Spin (`spin up`) and under `vox up`: every request here
//! goes to both, and both must answer the same — the same transcripts, the same noise-free
//! audio, the same streams, the same errors. Skips, saying why, where no Spin CLI is at hand.

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use vox_app_tests::{
    App, Response, assert_openai_sdk_works, fixture, multipart, portable_app, spin, spin_app,
    whisper_fixture,
};

/// Both servers, Spin's first; `None` (after saying why) where there is no Spin. `vox up` runs
/// the same portable components Spin does (`--inference wasm`), so answers can be compared
/// byte for byte.
fn both(test: &str) -> Option<[(&'static str, &'static App); 2]> {
    match spin_app() {
        Ok(spin) => Some([("spin up", spin), ("vox up", portable_app())]),
        Err(reason) => {
            spin::skip(test, &reason);
            None
        }
    }
}

/// Status, content type and body must be the same from both servers.
fn assert_same(what: &str, spin: &Response, vox: &Response) {
    assert_eq!(
        (spin.status, spin.header("content-type")),
        (vox.status, vox.header("content-type")),
        "{what}: spin up {} vs vox up {}",
        String::from_utf8_lossy(&spin.body),
        String::from_utf8_lossy(&vox.body)
    );
    assert!(
        spin.body == vox.body,
        "{what}: bodies differ ({} vs {} bytes): spin up {} | vox up {}",
        spin.body.len(),
        vox.body.len(),
        String::from_utf8_lossy(&spin.body[..spin.body.len().min(300)]),
        String::from_utf8_lossy(&vox.body[..vox.body.len().min(300)])
    );
}

fn post_both(
    apps: &[(&str, &'static App); 2],
    path: &str,
    content_type: &str,
    body: &[u8],
) -> [Response; 2] {
    apps.map(|(_, app)| app.post(path, content_type, body))
}

#[test]
fn health_and_readiness_are_the_same() {
    let Some(apps) = both("health_and_readiness_are_the_same") else {
        return;
    };
    for path in [
        "/health",
        "/ready",
        "/api/voices",
        "/api/models",
        "/v1/models",
    ] {
        let [(spin_status, spin_json), (vox_status, vox_json)] =
            apps.map(|(_, app)| app.get_json(path));
        assert_eq!(spin_status, 200, "{path} under spin up: {spin_json}");
        assert_eq!((spin_status, &spin_json), (vox_status, &vox_json), "{path}");
    }
}

#[test]
fn transcripts_are_identical() {
    let Some(apps) = both("transcripts_are_identical") else {
        return;
    };
    let clips = [
        ("jfk.flac", "audio/flac", fixture("jfk.flac")),
        (
            "librispeech-test-clean-c.wav",
            "audio/wav",
            whisper_fixture("librispeech-test-clean-c.wav"),
        ),
    ];
    for (name, content_type, audio) in &clips {
        let [spin, vox] = post_both(&apps, "/api/asr?word_timestamps=true", content_type, audio);
        assert_eq!(
            spin.status,
            200,
            "{name}: {}",
            String::from_utf8_lossy(&spin.body)
        );
        assert!(!spin.json()["text"].as_str().unwrap().trim().is_empty());
        assert_same(name, &spin, &vox);
    }
}

#[test]
fn noise_free_speech_is_identical() {
    let Some(apps) = both("noise_free_speech_is_identical") else {
        return;
    };
    let body = serde_json::json!({
        "text": "Spin and Vox speak alike. Every sample is the same.",
        "noise_scale": 0, "noise_w": 0, "format": "wav",
    })
    .to_string();
    let [spin, vox] = post_both(&apps, "/api/tts", "application/json", body.as_bytes());
    assert_eq!(spin.status, 200, "{}", String::from_utf8_lossy(&spin.body));
    assert!(
        spin.body.len() > 22050,
        "{} bytes of speech",
        spin.body.len()
    );
    assert_eq!(spin.header("x-sample-rate"), vox.header("x-sample-rate"));
    assert_same("/api/tts", &spin, &vox);
}

/// Reads a streamed body and notes when each read returned.
fn read_timed(resp: &mut ureq::http::Response<ureq::Body>) -> (Vec<u8>, Vec<Duration>) {
    let started = Instant::now();
    let mut reader = resp.body_mut().as_reader();
    let (mut body, mut arrivals) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            return (body, arrivals);
        }
        body.extend_from_slice(&buf[..n]);
        arrivals.push(started.elapsed());
    }
}

#[test]
fn end_to_end_streams_the_same_speech() {
    let Some(apps) = both("end_to_end_streams_the_same_speech") else {
        return;
    };
    let audio = fixture("jfk.flac");
    let mut answers = Vec::new();
    for (name, app) in apps {
        let mut resp = app
            .agent()
            .post(&app.url("/api/e2e?format=pcm"))
            .header("content-type", "audio/flac")
            .send(&audio[..])
            .unwrap();
        assert_eq!(resp.status(), 200, "{name}");
        let (body, arrivals) = read_timed(&mut resp);
        // Speech of an 11 s transcript, in more than one piece, over time: a stream.
        assert!(body.len() > 22050 * 2 * 3, "{name}: {} bytes", body.len());
        assert!(
            arrivals.len() > 1 && arrivals.first() < arrivals.last(),
            "{name}: the audio arrived at once ({arrivals:?})"
        );
        answers.push(body.len() as f64);
    }
    // The same transcript spoken with Piper's default noise: lengths agree within a tenth.
    let ratio = answers[0] / answers[1];
    assert!((0.9..1.1).contains(&ratio), "speech lengths {answers:?}");
}

#[test]
fn openai_routes_answer_the_same() {
    let Some(apps) = both("openai_routes_answer_the_same") else {
        return;
    };
    let audio = fixture("jfk.flac");
    let (content_type, body) = multipart(
        &[("model", "whisper-1"), ("response_format", "verbose_json")],
        ("file", "jfk.flac", &audio),
    );
    let [spin, vox] = post_both(&apps, "/v1/audio/transcriptions", &content_type, &body);
    assert_eq!(spin.status, 200, "{}", String::from_utf8_lossy(&spin.body));
    assert_same("/v1/audio/transcriptions", &spin, &vox);

    let speech = serde_json::json!({
        "model": "tts-1", "input": "Hello from Spin.", "voice": "echo", "response_format": "wav",
    })
    .to_string();
    let [spin, vox] = post_both(
        &apps,
        "/v1/audio/speech",
        "application/json",
        speech.as_bytes(),
    );
    assert_eq!(spin.status, 200, "{}", String::from_utf8_lossy(&spin.body));
    assert_eq!(&spin.body[..4], b"RIFF");
    assert_eq!(spin.header("content-type"), vox.header("content-type"));
    // OpenAI's speech request has no noise settings, so the voice's own noise makes every
    // answer a little different (durations included): only the length is comparable.
    let seconds = |r: &Response| (r.body.len() - 44) as f64 / 2.0 / 22050.0;
    assert!(
        (seconds(&spin) - seconds(&vox)).abs() < 0.5,
        "{} s vs {} s",
        seconds(&spin),
        seconds(&vox)
    );
}

#[test]
fn openai_python_sdk_works_under_spin() {
    match spin_app() {
        Ok(spin) => assert_openai_sdk_works(&spin.url("/v1")),
        Err(reason) => spin::skip("openai_python_sdk_works_under_spin", &reason),
    }
}

#[test]
fn private_components_are_unreachable_from_outside() {
    let Some(apps) = both("private_components_are_unreachable_from_outside") else {
        return;
    };
    // A small upload: the gateway answers 404 without reading it, and a server may close the
    // connection before a large one is fully sent (a broken pipe, not an answer).
    let audio = fixture("jfk.flac")[..4096].to_vec();
    // asr's and tts's own paths: only the gateway is routable, and it knows none of them.
    let requests: [(&str, &str, &[u8]); 3] = [
        ("POST", "/transcribe", &audio),
        ("POST", "/synthesize", b"{\"text\":\"hi\"}"),
        ("GET", "/voices", b""),
    ];
    for (method, path, body) in requests {
        let [spin, vox] = apps.map(|(_, app)| send(app, method, path, None, body).unwrap());
        assert_eq!(spin.0, 404, "{method} {path}: {spin:?}");
        assert!(spin.1.contains("not_found"), "{method} {path}: {spin:?}");
        assert_eq!(spin, vox, "{method} {path}");
    }
    // Naming a private component's internal host does not reach it either. Spin answers such
    // a request from outside with no response at all (it closes the connection; docs/deploy.md,
    // "Differences"); vox up serves it as any other request, from the gateway.
    for (path, host) in [
        ("/transcribe", "asr.spin.internal"),
        ("/voices", "tts.spin.internal"),
    ] {
        let method = if path == "/voices" { "GET" } else { "POST" };
        let [spin, vox] = apps.map(|(_, app)| send(app, method, path, Some(host), &audio));
        let vox = vox.expect("vox up answers");
        assert_eq!(vox.0, 404, "{host}{path} under vox up: {vox:?}");
        assert!(
            spin.as_ref().is_err() || spin.as_ref().ok() == Some(&vox),
            "{host}{path} under spin up: {spin:?}"
        );
    }
}

/// One request with an optional Host header; status and body, or the transport error.
fn send(
    app: &App,
    method: &str,
    path: &str,
    host: Option<&str>,
    body: &[u8],
) -> Result<(u16, String), ureq::Error> {
    let url = app.url(path);
    let mut resp = match (method, host) {
        ("GET", None) => app.agent().get(&url).call(),
        ("GET", Some(host)) => app.agent().get(&url).header("host", host).call(),
        (_, None) => app.agent().post(&url).send(body),
        (_, Some(host)) => app.agent().post(&url).header("host", host).send(body),
    }?;
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_vec()?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[test]
fn bad_input_gets_the_same_4xx() {
    let Some(apps) = both("bad_input_gets_the_same_4xx") else {
        return;
    };
    let audio = fixture("jfk.flac");
    let (no_file_type, no_file) = multipart(&[("model", "whisper-1")], ("other", "x.txt", b"x"));
    let cases: [(&str, &str, &str, &[u8]); 10] = [
        (
            "/api/asr",
            "audio/wav",
            "not audio",
            b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk",
        ),
        ("/api/asr", "application/octet-stream", "empty", b""),
        (
            "/api/asr?model=no-such-model",
            "audio/flac",
            "unknown model",
            &audio,
        ),
        ("/api/asr?beam_size=0", "audio/flac", "bad option", &audio),
        ("/api/tts", "application/json", "bad json", b"{\"text\":"),
        (
            "/api/tts",
            "application/json",
            "empty text",
            b"{\"text\":\"  \"}",
        ),
        (
            "/api/tts",
            "application/json",
            "unknown voice",
            b"{\"text\":\"hi\",\"voice\":\"nobody\"}",
        ),
        (
            "/api/e2e",
            "audio/wav",
            "e2e not audio",
            b"not audio at all",
        ),
        (
            "/v1/audio/transcriptions",
            &no_file_type,
            "no file",
            &no_file,
        ),
        ("/no/such/route", "text/plain", "unknown route", b"x"),
    ];
    for (path, content_type, what, body) in cases {
        let [spin, vox] = post_both(&apps, path, content_type, body);
        assert!(
            (400..500).contains(&spin.status),
            "{what}: spin up answered {}: {}",
            spin.status,
            String::from_utf8_lossy(&spin.body)
        );
        assert_eq!(
            (spin.status, spin.json()["error"]["code"].clone()),
            (vox.status, vox.json()["error"]["code"].clone()),
            "{what}"
        );
        assert_same(what, &spin, &vox);
    }
    let [(spin_status, _), _] = apps.map(|(_, app)| app.get("/health"));
    assert_eq!(spin_status, 200, "spin up stopped serving after bad input");
}

/// An error answered before the upload is read (a model that is not installed, a bad option)
/// still reaches a client that is sending more than the sockets buffer: the gateway reads the
/// rest of the upload before it answers (vox_http_kit::upload), since Spin would otherwise
/// close the connection under the client and the kernel reset it.
#[test]
fn early_errors_reach_a_client_still_uploading() {
    let Some(apps) = both("early_errors_reach_a_client_still_uploading") else {
        return;
    };
    // More than loopback's socket buffers hold, so the client is still writing when the
    // answer is ready.
    let upload = vec![0u8; 24 * 1024 * 1024];
    for (path, code) in [
        ("/api/asr?model=no-such-model", "model_not_found"),
        ("/api/asr?beam_size=0", "invalid_parameter"),
        ("/api/e2e?beam_size=0", "invalid_parameter"),
    ] {
        for (name, app) in apps {
            let resp = app.post(path, "audio/wav", &upload);
            assert_eq!(
                (resp.status / 100, resp.error_code().as_str()),
                (4, code),
                "{path} under {name}: {}",
                String::from_utf8_lossy(&resp.body)
            );
        }
    }
}

/// `spin build` runs every component's `[component.<id>.build]` command from the checkout, as a
/// user of a fresh clone would, and leaves each component's `source` in place as a component.
#[test]
fn spin_build_builds_every_component() {
    let cli = match spin::cli() {
        Ok(cli) => cli,
        Err(reason) => return spin::skip("spin_build_builds_every_component", &reason),
    };
    let root = vox_app_tests::workspace_root();
    let components = vox_app_tests::manifest_components();
    let mut command = Command::new(&cli);
    command
        .arg("build")
        .arg("-f")
        .arg(root.join("spin.toml"))
        .current_dir(&root);
    // The build commands run cargo; what this test binary's cargo set for it must not leak in.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CARGO_") && !matches!(key.as_str(), "CARGO_HOME" | "CARGO_TARGET_DIR") {
            command.env_remove(key);
        }
    }
    let started = Instant::now();
    let out = command.output().expect("run spin build");
    assert!(
        out.status.success(),
        "spin build failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    spin::note(&format!(
        "spin build: {} components in {:.1} s",
        components.len(),
        started.elapsed().as_secs_f64()
    ));
    for (id, component) in &components {
        assert!(
            component.get("build").is_some(),
            "component {id} has no [component.{id}.build]"
        );
        let source = component["source"].as_str().unwrap();
        let mut head = [0u8; 8];
        std::fs::File::open(root.join(source))
            .and_then(|mut f| f.read_exact(&mut head))
            .unwrap_or_else(|e| panic!("{id}: {source}: {e}"));
        // A WebAssembly component: the magic, then layer 1 (modules are layer 0).
        assert_eq!(&head[..4], b"\0asm", "{id}: {source} is not WebAssembly");
        assert_eq!(&head[6..8], &[1, 0], "{id}: {source} is not a component");
    }
}
