//! `vox up` over real HTTP, against the probe test component.

mod support;

use std::time::{Duration, Instant};

use support::{AppDir, Duplex, Vox, get, send, send_stream, start_with_env};

const APP: &str = r#"
spin_manifest_version = 2

[application]
name = "probe-app"

[variables]
greeting = { default = "hi" }
secret_key = { required = true }

[[trigger.http]]
route = "/api/..."
component = "front"

[[trigger.http]]
route = "/v1/..."
component = "front"

[[trigger.http]]
route = "/api/exact/headers"
component = "exact"

[[trigger.http]]
route = "/users/:id/headers"
component = "exact"

[[trigger.http]]
route = { private = true }
component = "back"

[component.front]
source = "{probe}"
allowed_outbound_hosts = ["http://back.spin.internal", "http://127.0.0.1:*"]
files = [{ source = "data", destination = "/data" }]
environment = { COMPONENT = "front", FOO = "bar" }

[component.front.variables]
message = "{{ greeting }} there"
key = "{{ secret_key }}"

[component.front.build]
command = "ignored by the host"

[component.exact]
source = "{probe}"
environment = { COMPONENT = "exact" }

[component.back]
source = "{probe}"
environment = { COMPONENT = "back" }
"#;

fn app() -> AppDir {
    let app = AppDir::new(APP);
    std::fs::create_dir(app.path().join("data")).unwrap();
    std::fs::write(app.path().join("data/hello.txt"), "hello from the host").unwrap();
    app
}

fn start(app: &AppDir, args: &[&str]) -> Vox {
    start_with_env(app, args, &[("SPIN_VARIABLE_SECRET_KEY", "s3cret")])
}

/// URL-encodes a chained target for the probe's `chain?to=` parameter.
fn chain_to(url: &str) -> String {
    probe_to("chain", url)
}

/// The path of a probe `action` that calls `url`, URL-encoded into its `to=` parameter.
fn probe_to(action: &str, url: &str) -> String {
    let encoded: String = url
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/api/{action}?to={encoded}")
}

#[tokio::test]
async fn routes_by_specificity_and_sets_spin_headers() {
    let app = app();
    let vox = start(&app, &[]);
    let addr = vox.addr;

    assert!(
        vox.banner
            .contains(&format!("front: http://{addr}/api (wildcard)")),
        "{}",
        vox.banner
    );
    assert!(
        vox.banner
            .contains(&format!("exact: http://{addr}/api/exact/headers\n")),
        "{}",
        vox.banner
    );
    assert!(
        !vox.banner.contains("back:"),
        "private component listed: {}",
        vox.banner
    );

    let wildcard = get(addr, "/api/v1/headers?x=1").await;
    assert_eq!(wildcard.status, 200);
    let h = &wildcard.json()["headers"];
    assert_eq!(
        h["spin-full-url"],
        format!("http://{addr}/api/v1/headers?x=1")
    );
    assert_eq!(h["spin-path-info"], "/v1/headers");
    assert_eq!(h["spin-matched-route"], "/api/...");
    assert_eq!(h["spin-raw-component-route"], "/api/...");
    assert_eq!(h["spin-component-route"], "/api");
    assert_eq!(h["spin-base-path"], "/");
    assert!(
        h["spin-client-addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );

    let exact = get(addr, "/api/exact/headers").await.json();
    assert_eq!(exact["headers"]["spin-matched-route"], "/api/exact/headers");
    assert_eq!(exact["headers"]["spin-path-info"], "");

    let param = get(addr, "/users/42/headers").await.json();
    assert_eq!(param["headers"]["spin-path-match-id"], "42");

    let component =
        |path: &'static str| async move { get(addr, path).await.json()["value"].clone() };
    assert_eq!(component("/api/exact/env?name=COMPONENT").await, "front");
    assert_eq!(component("/api/env?name=COMPONENT").await, "front");

    let missing = get(addr, "/nowhere").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn private_component_is_reachable_only_by_chaining() {
    let app = app();
    let vox = start(&app, &[]);
    for path in ["/back/env?name=COMPONENT", "/env?name=COMPONENT", "/"] {
        let reply = get(vox.addr, path).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.json()["error"]["code"], "not_found");
    }
    let chained = get(
        vox.addr,
        &chain_to("http://back.spin.internal/x/env?name=COMPONENT"),
    )
    .await;
    assert_eq!(chained.status, 200);
    assert_eq!(chained.json()["value"], "back");

    let headers = get(vox.addr, &chain_to("http://back.spin.internal/a/b/headers"))
        .await
        .json();
    assert_eq!(headers["headers"]["spin-path-info"], "/a/b/headers");
    assert_eq!(
        headers["headers"]["spin-full-url"],
        "http://back.spin.internal/a/b/headers"
    );
}

#[tokio::test]
async fn chained_bodies_stream_both_ways() {
    let app = app();
    let vox = start(&app, &[]);
    // front forwards to back's echo; the test holds the request body open, so back cannot
    // have finished when the first echoed chunk reaches us.
    let mut duplex = Duplex::open(
        vox.addr,
        "POST",
        &chain_to("http://back.spin.internal/echo"),
        "first;",
    )
    .await;
    assert_eq!(duplex.status, 200);
    duplex.expect("first;").await;
    duplex.send("second;").await;
    duplex.expect("second;").await;
    duplex.finish();
    assert_eq!(duplex.rest().await, "");
}

#[tokio::test]
async fn requests_sent_from_a_task_left_running_after_the_answer_arrive() {
    let app = app();
    let vox = start(&app, &[]);
    // Each request starts when nothing else of the front's request is happening: its body is
    // written by a task it spawns, which the guest's executor must still get to.
    const TIMES: usize = 20;
    let path =
        probe_to("chain-later", "http://back.spin.internal/length") + &format!("&times={TIMES}");
    let reply = tokio::time::timeout(Duration::from_secs(60), get(vox.addr, &path))
        .await
        .expect("every chained request was answered");
    assert_eq!(reply.status, 200);
    let text = reply.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), TIMES, "{lines:?}");
    for line in lines {
        assert_eq!(line, r#"{"length":12}"#);
    }
}

#[tokio::test]
async fn outbound_hosts_are_denied_unless_allowed() {
    let app = app();
    let vox = start(&app, &[]);
    let denied = get(vox.addr, "/api/fetch?url=http%3A%2F%2Fexample.com%2F")
        .await
        .json();
    assert!(
        denied["error"]
            .as_str()
            .unwrap()
            .contains("HttpRequestDenied"),
        "{denied}"
    );

    // Chaining needs an allowed host too: front may reach back, but not exact.
    let chained = get(vox.addr, &chain_to("http://exact.spin.internal/env"))
        .await
        .json();
    assert!(
        chained["error"]
            .as_str()
            .unwrap()
            .contains("HttpRequestDenied"),
        "{chained}"
    );

    // An allowed host is reached over the network.
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut conn, _) = upstream.accept().await.unwrap();
        let mut buf = vec![0; 4096];
        let _ = conn.read(&mut buf).await;
        let reply = "HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\npong";
        conn.write_all(reply.as_bytes()).await.unwrap();
    });
    let allowed = get(
        vox.addr,
        &format!("/api/fetch?url=http%3A%2F%2F{upstream_addr}%2Fping"),
    )
    .await
    .json();
    assert_eq!(allowed["status"], 200, "{allowed}");
    assert_eq!(allowed["body"], "pong");

    let log = vox.stderr();
    assert!(
        log.contains("http://example.com") && log.contains("front"),
        "log names host and component:\n{log}"
    );
}

#[tokio::test]
async fn files_are_mounted_read_only() {
    let app = app();
    let vox = start(&app, &[]);
    let read = get(vox.addr, "/api/read?path=/data/hello.txt").await.json();
    assert_eq!(read["content"], "hello from the host");
    let write = get(vox.addr, "/api/write?path=/data/new.txt").await.json();
    assert_eq!(write["written"], false, "{write}");
    let overwrite = get(vox.addr, "/api/write?path=/data/hello.txt")
        .await
        .json();
    assert_eq!(overwrite["written"], false, "{overwrite}");
    assert!(!app.path().join("data/new.txt").exists());
    assert_eq!(
        std::fs::read_to_string(app.path().join("data/hello.txt")).unwrap(),
        "hello from the host"
    );
}

#[tokio::test]
async fn variables_and_environment_reach_the_component() {
    let app = app();
    let vox = start(&app, &[]);
    let var = |name: &'static str| {
        let addr = vox.addr;
        async move { get(addr, &format!("/api/var?name={name}")).await.json() }
    };
    assert_eq!(var("message").await["value"], "hi there");
    assert_eq!(var("key").await["value"], "s3cret");
    assert!(
        var("undeclared").await["error"]
            .as_str()
            .unwrap()
            .contains("undeclared")
    );
    assert_eq!(
        get(vox.addr, "/api/env?name=FOO").await.json()["value"],
        "bar"
    );
}

#[tokio::test]
async fn component_output_goes_to_per_component_log_files() {
    let app = app();
    let vox = start(&app, &[]);
    assert_eq!(
        get(vox.addr, "/api/print?text=hello-logs").await.status,
        200
    );
    let logs = app.path().join(".spin/logs");
    let stdout = std::fs::read_to_string(logs.join("front_stdout.txt")).unwrap();
    let stderr = std::fs::read_to_string(logs.join("front_stderr.txt")).unwrap();
    assert!(stdout.contains("to stdout: hello-logs"), "{stdout:?}");
    assert!(stderr.contains("to stderr: hello-logs"), "{stderr:?}");
    let requests = vox.stderr();
    let line = requests
        .lines()
        .find(|l| l.contains("path=/api/print"))
        .expect("request logged");
    for field in [
        "method=GET",
        "component=front",
        "status=200",
        "bytes=",
        "duration_ms=",
    ] {
        assert!(line.contains(field), "{field} missing from {line:?}");
    }
}

#[tokio::test]
async fn instances_are_reused_and_serve_concurrently() {
    let app = app();
    let vox = start(&app, &[]);
    let mut counts = Vec::new();
    for _ in 0..3 {
        counts.push(
            get(vox.addr, "/api/counter").await.json()["count"]
                .as_u64()
                .unwrap(),
        );
    }
    assert!(
        counts.windows(2).all(|w| w[1] > w[0]),
        "global state lost between requests: {counts:?}"
    );

    let started = Instant::now();
    let sleeps = (0..8).map(|_| get(vox.addr, "/api/sleep?ms=600"));
    for reply in futures::future::join_all(sleeps).await {
        assert_eq!(reply.status, 200);
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(2400),
        "8 × 600 ms requests took {took:?}: not concurrent"
    );
}

#[tokio::test]
async fn a_trap_fails_only_its_own_request() {
    let app = app();
    let vox = start(&app, &[]);
    assert_eq!(get(vox.addr, "/api/counter").await.status, 200);
    let trapped = get(vox.addr, "/api/trap").await;
    assert_eq!(trapped.status, 500);
    assert_eq!(trapped.json()["error"]["code"], "component_failed");
    // The trapped instance is discarded; the next request gets a fresh one.
    let after = get(vox.addr, "/api/counter").await;
    assert_eq!(after.status, 200);
    assert_eq!(after.json()["count"], 1, "a fresh instance after the trap");
}

#[tokio::test]
async fn body_size_and_time_limits() {
    let app = app();
    let vox = start(
        &app,
        &["--max-body-size", "1000", "--request-timeout", "1s"],
    );

    let ok = send(vox.addr, "POST", "/api/length", vec![b'x'; 1000]).await;
    assert_eq!(ok.json()["length"], 1000);

    let declared = send(vox.addr, "POST", "/api/length", vec![b'x'; 1001]).await;
    assert_eq!(declared.status, 413);
    assert_eq!(declared.json()["error"]["code"], "payload_too_large");

    // Without a content-length the limit is enforced while the body streams in.
    let chunked = send_stream(
        vox.addr,
        "/api/length",
        &["y".repeat(800), "y".repeat(800)],
        None,
        false,
    )
    .await;
    assert_eq!(chunked.status, 413);
    assert_eq!(chunked.json()["error"]["code"], "payload_too_large");

    // A client that stops sending its body gets 408.
    let stalled = send_stream(vox.addr, "/api/length", &["z".repeat(10)], Some(100), true).await;
    assert_eq!(stalled.status, 408);
    assert_eq!(stalled.json()["error"]["code"], "request_timeout");

    let started = Instant::now();
    let slow = get(vox.addr, "/api/sleep?ms=5000").await;
    assert_eq!(slow.status, 504);
    assert_eq!(slow.json()["error"]["code"], "component_timeout");
    assert!(started.elapsed() < Duration::from_secs(4));

    let busy = get(vox.addr, "/api/spin?ms=5000").await;
    assert_eq!(busy.status, 504, "a guest busy in a loop is interrupted");

    // Under /v1/ the host answers in OpenAI's error shape, as the gateway does there.
    let openai = |resp: &support::Reply, status: u16, code: &str, kind: &str| {
        assert_eq!(resp.status, status, "{code}");
        let error = &resp.json()["error"];
        assert_eq!(
            (error["code"].as_str(), error["type"].as_str()),
            (Some(code), Some(kind)),
            "{error}"
        );
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(error.get("param").is_some_and(|p| p.is_null()), "{error}");
    };
    let declared = send(vox.addr, "POST", "/v1/length", vec![b'x'; 1001]).await;
    openai(&declared, 413, "payload_too_large", "invalid_request_error");
    let chunked = send_stream(
        vox.addr,
        "/v1/length",
        &["y".repeat(800), "y".repeat(800)],
        None,
        false,
    )
    .await;
    openai(&chunked, 413, "payload_too_large", "invalid_request_error");
    // Which of the two timeouts a stalled body meets on a fresh instance is a race of two
    // equal deadlines (the 408 itself is checked above); here the shape is what is checked.
    let stalled = send_stream(vox.addr, "/v1/length", &["z".repeat(10)], Some(100), true).await;
    match stalled.status {
        408 => openai(&stalled, 408, "request_timeout", "invalid_request_error"),
        _ => openai(&stalled, 504, "component_timeout", "server_error"),
    }
    let slow = get(vox.addr, "/v1/sleep?ms=5000").await;
    openai(&slow, 504, "component_timeout", "server_error");

    assert_eq!(
        get(vox.addr, "/api/counter").await.status,
        200,
        "still serving"
    );
}

/// The probe with `[component.front.tool.vox]` settings: one request per instance, and a
/// memory limit.
const ISOLATED_APP: &str = r#"
spin_manifest_version = 2

[application]
name = "isolated-app"

[[trigger.http]]
route = "/api/..."
component = "front"

[component.front]
source = "{probe}"

[component.front.tool.vox]
instance_concurrency = 1
max_memory = "64 MiB"
"#;

#[tokio::test]
async fn one_request_per_instance_keeps_a_trap_from_failing_others() {
    let app = AppDir::new(ISOLATED_APP);
    let vox = start_with_env(&app, &[], &[]);
    assert_eq!(get(vox.addr, "/api/counter").await.json()["count"], 1);
    let sleeping = tokio::spawn(get(vox.addr, "/api/sleep?ms=1500"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The sleeping instance takes nothing else: this one is fresh (it would count 3 on the
    // instance that serves everything at once).
    assert_eq!(
        get(vox.addr, "/api/counter").await.json()["count"],
        1,
        "a second instance while the first is busy"
    );
    let trapped = get(vox.addr, "/api/trap").await;
    assert_eq!(trapped.status, 500);
    let slept = sleeping.await.unwrap();
    assert_eq!(
        slept.status,
        200,
        "the trap failed another request: {}",
        slept.text()
    );
    assert_eq!(slept.json()["slept_ms"], 1500);
}

#[tokio::test]
async fn an_instance_past_its_memory_limit_fails_only_its_request() {
    let app = AppDir::new(ISOLATED_APP);
    let vox = start_with_env(&app, &[], &[]);
    let within = get(vox.addr, "/api/alloc?mb=16").await;
    assert_eq!(within.status, 200, "{}", within.text());
    let past = get(vox.addr, "/api/alloc?mb=128").await;
    assert_eq!(past.status, 500, "{}", past.text());
    let error = past.json();
    assert_eq!(error["error"]["code"], "component_failed");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("67108864-byte limit"),
        "the message names the limit: {message}"
    );
    // The instance that hit its limit is gone; the next request gets a fresh one.
    let after = get(vox.addr, "/api/alloc?mb=16").await;
    assert_eq!(after.status, 200, "{}", after.text());
}

#[tokio::test]
async fn an_instance_past_its_cpu_limit_is_ended_with_a_clear_error() {
    let app = AppDir::new(ISOLATED_APP);
    let vox = start_with_env(&app, &["--max-instance-cpu", "1s"], &[]);
    // Within the limit: the guest computes and answers.
    let within = get(vox.addr, "/api/spin?ms=300").await;
    assert_eq!(within.status, 200, "{}", within.text());
    // A runaway: far under the request timeout, the CPU limit ends it.
    let started = Instant::now();
    let runaway = get(vox.addr, "/api/spin?ms=60000").await;
    let took = started.elapsed();
    assert_eq!(runaway.status, 500, "{}", runaway.text());
    let error = runaway.json();
    assert_eq!(error["error"]["code"], "component_failed");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("1 s CPU limit"),
        "the message names the limit: {message}"
    );
    assert!(took < Duration::from_secs(30), "ended after {took:?}");
    // The CPU counts per piece of work: the next request on a fresh instance runs.
    for _ in 0..3 {
        let after = get(vox.addr, "/api/spin?ms=400").await;
        assert_eq!(after.status, 200, "{}", after.text());
    }
}
