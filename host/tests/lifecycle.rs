//! Starting and stopping `vox up`: the compiled-code cache and graceful shutdown.

mod support;

use std::time::{Duration, Instant};

use support::{AppDir, Duplex, PROBE_APP, get, start};

#[tokio::test]
async fn second_start_loads_compiled_code_from_the_cache() {
    let app = AppDir::new(&PROBE_APP.replace("{probe}", "probe.wasm"));
    let wasm = app.path().join("probe.wasm");
    std::fs::copy(support::probe_wasm(), &wasm).unwrap();
    let cache = app.path().join("cache");
    let cache_arg = cache.to_str().unwrap();
    let compiled = || {
        std::fs::read_dir(&cache)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "cwasm")
            })
            .count()
    };

    // Starts vox, checks it serves, stops it and returns its log.
    let serve_once = || async {
        let vox = start(&app, &["--cache-dir", cache_arg]);
        assert_eq!(get(vox.addr, "/counter").await.status, 200);
        vox.stderr()
    };

    let log = serve_once().await;
    assert_eq!(compiled(), 1, "one compiled component cached");
    assert!(
        log.contains("compiling: the first start of this build"),
        "a first start says what it is compiling:\n{log}"
    );

    let log = serve_once().await;
    assert!(
        log.contains("Cached") && !log.contains("compiling"),
        "second start should hit the cache:\n{log}"
    );

    // The same path with other content (a custom section appended) is compiled afresh.
    let mut bytes = std::fs::read(&wasm).unwrap();
    let (name, payload) = (b"vox-test", b"changed");
    bytes.extend([0, (1 + name.len() + payload.len()) as u8, name.len() as u8]);
    bytes.extend(name);
    bytes.extend(payload);
    std::fs::write(&wasm, bytes).unwrap();
    let log = serve_once().await;
    assert!(
        log.contains("Compiled"),
        "a changed component must not come from the cache:\n{log}"
    );
    assert_eq!(compiled(), 2);
}

#[tokio::test]
async fn shutdown_finishes_in_flight_streams_and_refuses_new_connections() {
    let app = AppDir::new(PROBE_APP);
    let mut vox = start(&app, &[]);
    let mut stream = Duplex::open(vox.addr, "POST", "/echo", "before;").await;
    stream.expect("before;").await;

    vox.terminate();
    let refused = async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if tokio::net::TcpStream::connect(vox.addr).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    assert!(
        refused.await,
        "new connections are refused once shutdown starts"
    );

    stream.send("after;").await;
    stream.expect("after;").await;
    stream.finish();
    assert_eq!(stream.rest().await, "");

    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = vox.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "vox did not exit after its last stream ended"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
}

/// An instance retired while its response still streams (here: idle past
/// `--stream-idle-timeout`) cuts the response short: the client sees an incomplete transfer,
/// never an ending that looks complete.
#[tokio::test]
async fn a_stream_cut_by_its_instance_ending_is_incomplete() {
    let app = AppDir::new(PROBE_APP);
    let vox = start(&app, &["--stream-idle-timeout", "1s"]);
    let mut stream = Duplex::open(vox.addr, "POST", "/echo", "before;").await;
    stream.expect("before;").await;
    // Nothing more is sent: the stream sits idle past its timeout and the instance is retired.
    let end = stream.end().await;
    assert!(end.is_err(), "the cut stream ended as if complete: {end:?}");
    assert_eq!(get(vox.addr, "/counter").await.status, 200, "still serving");
}
