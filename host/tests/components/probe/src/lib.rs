//! Test component for the vox host: each path exercises one thing the host provides
//! (headers, variables, files, outbound HTTP, streaming, instance reuse, wasi:nn) or one way a
//! component can misbehave (trap, stall, run out of memory, send the host bad graphs).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{BoxBody, IntoResponse, Request, Response, StatusCode, box_body};
use spin_sdk::http_service;

/// Survives across requests only if the host reuses the instance.
static REQUESTS_SEEN: AtomicU64 = AtomicU64::new(0);

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let seen = REQUESTS_SEEN.fetch_add(1, Ordering::SeqCst) + 1;
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().unwrap_or("").to_string();
    let query = |name: &str| query_param(&raw_query, name);
    // Routes are matched on the last path segment so the probe works under any route.
    let action = path.rsplit('/').next().unwrap_or("").to_string();
    match action.as_str() {
        "headers" => {
            let headers: serde_json::Map<_, _> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").into()))
                .collect();
            json(serde_json::json!({"path": path, "headers": headers}))
        }
        "counter" => json(serde_json::json!({"count": seen})),
        "env" => json(serde_json::json!({"value": std::env::var(query("name")).ok()})),
        "var" => match spin_sdk::variables::get(&query("name")).await {
            Ok(v) => json(serde_json::json!({"value": v})),
            Err(e) => json(serde_json::json!({"error": e.to_string()})),
        },
        "read" => match std::fs::read_to_string(query("path")) {
            Ok(s) => json(serde_json::json!({"content": s})),
            Err(e) => json(serde_json::json!({"error": e.to_string()})),
        },
        "write" => match std::fs::write(query("path"), b"written") {
            Ok(()) => json(serde_json::json!({"written": true})),
            Err(e) => json(serde_json::json!({"written": false, "error": e.to_string()})),
        },
        "fetch" => match spin_sdk::http::get(query("url")).await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.into_body().bytes().await.unwrap_or_default();
                json(serde_json::json!({"status": status, "body": String::from_utf8_lossy(&body)}))
            }
            Err(e) => json(serde_json::json!({"error": format!("{e:?}")})),
        },
        "sleep" => {
            let ms: u64 = query("ms").parse().unwrap_or(0);
            spin_sdk::time::sleep(Duration::from_millis(ms)).await;
            json(serde_json::json!({"slept_ms": ms}))
        }
        "spin" => {
            // Busy loop: never yields, so only the host's epoch interruption can stop it.
            let ms: u64 = query("ms").parse().unwrap_or(0);
            let start = std::time::Instant::now();
            let mut x = 0u64;
            while start.elapsed() < Duration::from_millis(ms) {
                x = x.wrapping_add(1);
            }
            json(serde_json::json!({"spun": x > 0}))
        }
        "trap" => panic!("probe asked to trap"),
        "alloc" => {
            // Filled and summed, so every page is really used.
            let mb: usize = query("mb").parse().unwrap_or(0);
            let block = vec![1u8; mb << 20];
            let sum: usize = block.iter().map(|&b| usize::from(b)).sum();
            json(serde_json::json!({"allocated": sum}))
        }
        "print" => {
            println!("to stdout: {}", query("text"));
            eprintln!("to stderr: {}", query("text"));
            json(serde_json::json!({"printed": true}))
        }
        "echo" => echo(req),
        "length" => {
            let body = req.into_body().bytes().await;
            match body {
                Ok(b) => json(serde_json::json!({"length": b.len()})),
                Err(e) => json(serde_json::json!({"error": format!("{e:?}")})),
            }
        }
        "nn" => {
            let mut graph = req.into_body().bytes().await.unwrap_or_default().to_vec();
            let taker = query("then")
                .parse()
                .ok()
                .filter(|&at| at <= graph.len())
                .map(|at| graph.split_off(at));
            let first = nn(
                graph,
                &query("prepare"),
                &query("input"),
                &query("dims"),
                query("times").parse().unwrap_or(1),
            );
            let answer = match (first, taker) {
                (Ok((_, outputs)), None) => Ok(outputs),
                (Ok((context, outputs)), Some(taker)) => {
                    let key = query("key").parse().ok();
                    take_held(&context, &outputs, taker, key)
                }
                (Err(e), _) => Err(e),
            };
            json(answer.unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() })))
        }
        "chain" => chain(req, &query("to")).await,
        "chain-later" => chain_later(query("to"), query("times").parse().unwrap_or(1)),
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(box_body(http_body_util::Full::new(bytes::Bytes::from(
                "no such probe",
            ))))
            .unwrap(),
    }
}

/// Streams the request body back chunk by chunk as it arrives.
fn echo(req: Request) -> Response<BoxBody> {
    let (mut tx, body) = spin_sdk::http::body::stream::<Vec<u8>>();
    let mut incoming = req.into_body().stream();
    spin_sdk::wasip3::spawn(async move {
        while let Some(Ok(chunk)) = incoming.next().await {
            if tx.send(chunk.to_vec()).await.is_err() {
                break;
            }
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .body(box_body(body))
        .unwrap()
}

/// Forwards the request, body streamed, to another component and streams its answer back.
async fn chain(req: Request, to: &str) -> Response<BoxBody> {
    let (parts, body) = req.into_parts();
    let outgoing = spin_sdk::http::Request::builder()
        .method(parts.method)
        .uri(to)
        .body(body)
        .unwrap();
    match spin_sdk::http::send(outgoing).await {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            Response::from_parts(parts, box_body(body))
        }
        Err(e) => json(serde_json::json!({"error": format!("{e:?}")})),
    }
}

/// Answers at once, then, from a task left running after the answer, posts a body to another
/// component `times` times in turn, each once the previous one is over, and sends the answers
/// at the end, one line each: requests that start when nothing else of this request is
/// happening (its own answer stays quiet until they are all done). They go through
/// `vox_http_kit::client`, as the gateway's do.
fn chain_later(to: String, times: u32) -> Response<BoxBody> {
    let (mut tx, body) = spin_sdk::http::body::stream::<String>();
    spin_sdk::wasip3::spawn(async move {
        let mut lines = String::new();
        for _ in 0..times {
            let outgoing = spin_sdk::http::Request::builder()
                .method("POST")
                .uri(&to)
                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                    b"twelve bytes",
                )))
                .unwrap();
            match vox_http_kit::client::send(outgoing).await {
                Ok(resp) => match resp.into_body().bytes().await {
                    Ok(b) => lines.push_str(&String::from_utf8_lossy(&b)),
                    Err(e) => lines.push_str(&format!("error {e:?}")),
                },
                Err(e) => lines.push_str(&format!("error {e:?}")),
            }
            lines.push('\n');
        }
        let _ = tx.send(lines).await;
    });
    Response::builder()
        .status(StatusCode::OK)
        .body(box_body(body))
        .unwrap()
}

fn json(value: serde_json::Value) -> Response<BoxBody> {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(box_body(http_body_util::Full::new(bytes::Bytes::from(
            value.to_string(),
        ))))
        .unwrap()
}

fn query_param(query: &str, name: &str) -> String {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| percent_decode(v))
        .unwrap_or_default()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi * 16 + lo);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Loads the body as a graph through wasi:nn (with `prepare`, when given, as the preparation
/// builder) and runs it on an f32 input of ones shaped `dims`, then `times - 1` more times in
/// the same context sending no input (the host's remembered or carried values); answers with
/// the context (alive: what it holds stays held) and the last computation's outputs, or the
/// error the host returned.
fn nn(
    graph: Vec<u8>,
    prepare: &str,
    input: &str,
    dims: &str,
    times: usize,
) -> Result<(vox_nn::client::Context, serde_json::Value), vox_nn::NnError> {
    let mut builders = vec![graph];
    if !prepare.is_empty() {
        builders.push(prepare.as_bytes().to_vec());
    }
    let dims: Vec<usize> = dims.split(',').filter_map(|d| d.parse().ok()).collect();
    let context = vox_nn::client::load(&builders)?.context()?;
    let ones = vec![1.0; dims.iter().product()];
    let mut outputs =
        context.compute(vec![(input.to_string(), vox_nn::Tensor::f32(&dims, &ones))])?;
    for _ in 1..times {
        outputs = context.compute(Vec::new())?;
    }
    let outputs = outputs_json(outputs)?;
    Ok((context, outputs))
}

/// A computation's outputs as JSON (the held values' key as an integer).
fn outputs_json(
    outputs: Vec<(String, vox_nn::Tensor)>,
) -> Result<serde_json::Value, vox_nn::NnError> {
    let mut values = serde_json::Map::new();
    for (name, tensor) in outputs {
        let value = match name.as_str() {
            vox_nn::HELD => tensor.to_i64(&name)?.into(),
            _ => tensor.to_f32(&name)?.into(),
        };
        values.insert(name, value);
    }
    Ok(serde_json::json!({ "outputs": values }))
}

/// While the first graph's context (`_holder`) is alive, loads `graph` and computes it once on
/// nothing but the key of the values the first one held (`key` instead, when given); answers
/// with both computations' outputs.
fn take_held(
    _holder: &vox_nn::client::Context,
    first: &serde_json::Value,
    graph: Vec<u8>,
    key: Option<i64>,
) -> Result<serde_json::Value, vox_nn::NnError> {
    let key = key
        .or_else(|| first["outputs"][vox_nn::HELD][0].as_i64())
        .unwrap_or(0);
    let context = vox_nn::client::load(&[graph])?.context()?;
    let outputs = context.compute(vec![(
        vox_nn::HELD.to_string(),
        vox_nn::Tensor::i64(&[1], &[key]),
    )])?;
    Ok(serde_json::json!({ "first": first, "then": outputs_json(outputs)? }))
}
