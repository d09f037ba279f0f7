//! What an operator sees of the running app: Prometheus metrics that move with real requests,
//! and JSON log lines, one per request, carrying its request id.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;

use vox_app_tests::{App, fixture, operated_app};

/// The tests here read counters that every request moves, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn scrape(app: &App) -> String {
    let url = app.metrics_url().expect("the banner names the metrics URL");
    let mut resp = app.agent().get(&url).call().expect("scrape /metrics");
    assert_eq!(resp.status().as_u16(), 200);
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    resp.body_mut().read_to_string().expect("metrics text")
}

/// The value of the sample whose name and labels are exactly `series`, 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}

/// The app's JSON log lines once a line for each of `ids` is there: each line is written
/// once its response body has gone, so this waits a moment for them.
fn logged(app: &App, ids: &[&str]) -> Vec<serde_json::Value> {
    let mut lines = Vec::new();
    for _ in 0..100 {
        lines = app
            .log()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))
            })
            .collect();
        if ids
            .iter()
            .all(|id| lines.iter().any(|l| l["request_id"] == *id))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    lines
}

#[test]
fn metrics_count_requests_audio_instances_and_errors() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let app = operated_app();
    let before = scrape(app);

    let asr = app.post("/api/asr", "audio/flac", &fixture("jfk.flac"));
    assert_eq!(asr.status, 200);
    let tts = app.post(
        "/api/tts",
        "application/json",
        br#"{"text":"Metrics count what is spoken.","format":"pcm","noise_scale":0}"#,
    );
    assert_eq!(tts.status, 200);
    let spoken = tts.body.len() as f64 / 2.0 / 22050.0;
    let bad = app.post("/api/asr", "audio/wav", b"RIFF not really a wav file");
    assert_eq!(bad.status, 400);
    let code = bad.error_code();

    // tts counts its audio when the gateway has read the body, which can be a moment after
    // the client has it.
    let said_series = r#"vox_audio_seconds_total{component="tts",kind="synthesized"}"#;
    let mut after = scrape(app);
    for _ in 0..20 {
        if sample(&after, said_series) > sample(&before, said_series) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        after = scrape(app);
    }
    let moved = |series: &str| sample(&after, series) - sample(&before, series);
    let asr_ok = r#"vox_http_requests_total{component="gateway",method="POST",route="/api/asr",status="200"}"#;
    assert_eq!(moved(asr_ok), 1.0, "{after}");
    let asr_bad = r#"vox_http_requests_total{component="gateway",method="POST",route="/api/asr",status="400"}"#;
    assert_eq!(moved(asr_bad), 1.0, "{after}");
    let errors = format!(r#"vox_component_errors_total{{component="asr",code="{code}"}}"#);
    assert_eq!(moved(&errors), 1.0, "{after}");
    assert!(moved(r#"vox_component_requests_total{component="asr",status="200"}"#) >= 1.0);
    // jfk.flac is 11 s of speech; the PCM body the client got is what tts counted.
    let heard = moved(r#"vox_audio_seconds_total{component="asr",kind="transcribed"}"#);
    assert!((heard - 11.0).abs() < 0.1, "transcribed {heard} s");
    let said = moved(said_series);
    assert!(
        (said - spoken).abs() < 0.01,
        "synthesized {said} s, sent {spoken} s"
    );
    let body_in = moved(r#"vox_http_body_bytes_total{component="gateway",direction="in"}"#);
    assert!(body_in >= fixture("jfk.flac").len() as f64, "{body_in}");
    let latency =
        r#"vox_http_request_duration_seconds_count{component="gateway",route="/api/asr"}"#;
    assert_eq!(moved(latency), 2.0);
    for component in ["gateway", "asr", "tts"] {
        let live = sample(
            &after,
            &format!(r#"vox_instances_live{{component="{component}"}}"#),
        );
        let started = sample(
            &after,
            &format!(r#"vox_instances_started_total{{component="{component}"}}"#),
        );
        assert!(
            live >= 1.0 && started >= live,
            "{component}: {live} live of {started}"
        );
    }
    // The usage headers are the host's business: no client sees them.
    assert!(asr.header("vox-audio-seconds").is_none());
    assert!(bad.header("vox-error-code").is_none());
}

#[test]
fn the_metrics_port_serves_only_metrics() {
    let app = operated_app();
    let url = app.metrics_url().unwrap().replace("/metrics", "/other");
    let resp = app.agent().get(&url).call().unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[test]
fn json_logs_have_one_line_per_request_with_its_id() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let app = operated_app();
    let id = "ops-test-0042";
    let resp = app
        .agent()
        .get(&app.url("/api/voices"))
        .header("x-request-id", id)
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some(id),
        "the gateway adopts the id the host passed on"
    );
    // A request without an id gets one from the host, and the client sees that one.
    let resp = app.agent().get(&app.url("/health")).call().unwrap();
    let generated = resp.headers()["x-request-id"].to_str().unwrap().to_string();

    let lines = logged(app, &[id, &generated]);
    let ours: Vec<_> = lines.iter().filter(|l| l["request_id"] == id).collect();
    assert_eq!(ours.len(), 1, "one line for the request: {ours:?}");
    let line = ours[0];
    assert_eq!(line["message"], "request");
    assert_eq!(line["path"], "/api/voices");
    assert_eq!(line["status"], 200);
    assert_eq!(line["component"], "gateway");
    assert!(line["duration_ms"].is_u64() && line["timestamp"].is_string());
    assert!(lines.iter().any(|l| l["request_id"] == generated.as_str()));
}

#[test]
fn a_client_that_leaves_mid_answer_is_logged_as_499() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let app = operated_app();
    let id = "ops-test-leaves-0499";
    // Long enough that synthesis is still going when the first audio arrives.
    let text = "The client hangs up while this is still being spoken. ".repeat(20);
    let body = serde_json::json!({"text": text, "format": "pcm"}).to_string();
    let addr = app.url("").trim_start_matches("http://").to_string();
    let mut conn = TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /api/tts HTTP/1.1\r\nhost: {addr}\r\nx-request-id: {id}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    // The headers and some audio: the answer has begun.
    while seen.len() < 16 * 1024 {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "the answer ended early");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200"));
    drop(conn);

    let lines = logged(app, &[id]);
    let ours: Vec<_> = lines.iter().filter(|l| l["request_id"] == id).collect();
    assert_eq!(ours.len(), 1, "one line for the request: {ours:?}");
    assert_eq!(ours[0]["status"], 499, "{}", ours[0]);
    assert!(ours[0]["bytes"].as_u64().unwrap() < 20 * 22050 * 2);

    // A client that hangs up half-way through its upload is logged the same way, whatever the
    // component made of the broken body.
    let upload_id = "ops-test-leaves-upload-0499";
    let audio = fixture("jfk.flac");
    let mut conn = TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /api/asr HTTP/1.1\r\nhost: {addr}\r\nx-request-id: {upload_id}\r\ncontent-type: audio/flac\r\ncontent-length: {}\r\n\r\n",
        audio.len()
    )
    .unwrap();
    conn.write_all(&audio[..audio.len() / 2]).unwrap();
    drop(conn);
    let lines = logged(app, &[upload_id]);
    let ours: Vec<_> = lines
        .iter()
        .filter(|l| l["request_id"] == upload_id)
        .collect();
    assert_eq!(ours.len(), 1, "one line for the request: {ours:?}");
    assert_eq!(ours[0]["status"], 499, "{}", ours[0]);

    // A request that is read to its end keeps its own status.
    let whole = app.post(
        "/api/tts",
        "application/json",
        br#"{"text":"Read to the end.","format":"pcm"}"#,
    );
    assert_eq!(whole.status, 200);
}

#[test]
fn native_inference_graphs_are_prepared_before_the_app_serves() {
    let app = operated_app();
    // The banner (and so the first answer) comes only after the start-up preparation, so its
    // line is already there.
    let lines: Vec<serde_json::Value> = app
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let ready: Vec<_> = lines
        .iter()
        .filter(|l| l["message"] == "native inference graphs ready")
        .collect();
    let mut components: Vec<String> = ready
        .iter()
        .map(|l| l["component"].as_str().unwrap_or_default().to_string())
        .collect();
    components.sort();
    assert_eq!(
        components,
        ["asr", "tts"],
        "asr and tts run wasi:nn builds: {lines:?}"
    );
    assert!(ready.iter().all(|l| l["ms"].is_u64()), "{ready:?}");
    let at = |message: &str| lines.iter().position(|l| l["message"] == message);
    assert!(
        at("request").is_none_or(|first| at("native inference graphs ready") < Some(first)),
        "prepared before any request was served: {lines:?}"
    );
}
