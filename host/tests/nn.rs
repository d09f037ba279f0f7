//! `wasi:nn` as `vox up` gives it to components, over real HTTP against the probe: a graph the
//! component sends runs on the host, outputs it carries stay there for the next computation,
//! outputs it holds are taken by another graph's context by their key (in the same instance
//! only), and bad graphs, preparations or tensors come back to the component as errors while
//! the host keeps serving.

mod support;

use prost::Message;
use support::{AppDir, PROBE_APP, get, send, start};
use tract_onnx::pb;

/// A value of f32 `dims`, as an ONNX graph input or output declares it.
fn value(name: &str, dims: &[i64]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension};
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(dimension::Value::DimValue(d)),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A node of `op` from `inputs` to `output`.
fn node(op: &str, inputs: &[&str], output: &str) -> pb::NodeProto {
    pb::NodeProto {
        input: inputs.iter().map(|i| i.to_string()).collect(),
        output: vec![output.into()],
        op_type: op.into(),
        ..Default::default()
    }
}

/// `output = input + input` over an f32 `[2]`.
fn adding_graph(name: &str, input: &str, output: &str) -> Vec<u8> {
    model(pb::GraphProto {
        name: name.into(),
        node: vec![node("Add", &[input, input], output)],
        input: vec![value(input, &[2])],
        output: vec![value(output, &[2])],
        ..Default::default()
    })
}

/// `y = x + x`: the smallest graph that shows a computation happened.
fn doubling_graph() -> Vec<u8> {
    adding_graph("double", "x", "y")
}

/// `y = x + x` and `z = y` over an f32 `[2]`: with `y` carried to `x`, every computation
/// doubles the last one's `z`.
fn carrying_graph() -> Vec<u8> {
    model(pb::GraphProto {
        name: "carry".into(),
        node: vec![node("Add", &["x", "x"], "y"), node("Identity", &["y"], "z")],
        input: vec![value("x", &[2])],
        output: vec![value("y", &[2]), value("z", &[2])],
        ..Default::default()
    })
}

/// `z = y + y`: reads a value another graph held as `y`.
fn taking_graph() -> Vec<u8> {
    adding_graph("take", "y", "z")
}

fn model(graph: pb::GraphProto) -> Vec<u8> {
    pb::ModelProto {
        ir_version: 7,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn graphs_run_on_the_host_and_bad_ones_are_errors_to_the_component() {
    let app = AppDir::new(PROBE_APP);
    let vox = start(&app, &[]);
    let addr = vox.addr;
    let run_times = |prepare: &str, dims: &str, graph: Vec<u8>, times: usize| {
        let path = format!(
            "/nn?input=x&dims={dims}&times={times}&prepare={}",
            encode(prepare)
        );
        async move { send(addr, "POST", &path, graph).await.json() }
    };
    let run = |prepare: &str, dims: &str, graph: Vec<u8>| run_times(prepare, dims, graph, 1);

    let doubled = run("", "2", doubling_graph()).await;
    assert_eq!(
        doubled["outputs"]["y"],
        serde_json::json!([2.0, 2.0]),
        "{doubled}"
    );
    // A second load of the same bytes is the cached graph, and runs the same.
    let again = run(r#"{"prepare":"onnx"}"#, "2", doubling_graph()).await;
    assert_eq!(again["outputs"], doubled["outputs"], "{again}");

    for (what, prepare, dims, graph) in [
        ("bytes that are not ONNX", "", "2", b"not a graph".to_vec()),
        ("an empty graph", "", "2", Vec::new()),
        ("a preparation that is not JSON", "{", "2", doubling_graph()),
        (
            "an unknown preparation",
            r#"{"prepare":"gguf"}"#,
            "2",
            doubling_graph(),
        ),
        (
            "a Piper voice that is not one",
            r#"{"prepare":"piper","config":"{}"}"#,
            "2",
            doubling_graph(),
        ),
        ("a tensor of the wrong shape", "", "3", doubling_graph()),
        (
            "a carry from an output the graph lacks",
            r#"{"prepare":"onnx","carry":[{"output":"w","input":"x"}]}"#,
            "2",
            carrying_graph(),
        ),
        ("a tensor of the wrong rank", "", "2,1", doubling_graph()),
        (
            "a held value the graph does not output",
            r#"{"prepare":"onnx","hold":["w"]}"#,
            "2",
            carrying_graph(),
        ),
    ] {
        let answer = run(prepare, dims, graph).await;
        let error = answer["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: {answer}"));
        assert!(error.starts_with("inference"), "{what}: {error}");
    }
    // A carried output stays on the host as the next computation's input: three computations
    // from ones double three times, and the carried `y` is never returned.
    let carry = r#"{"prepare":"onnx","carry":[{"output":"y","input":"x"}]}"#;
    let carried = run_times(carry, "2", carrying_graph(), 3).await;
    assert_eq!(
        carried["outputs"],
        serde_json::json!({"z": [8.0, 8.0]}),
        "{carried}"
    );
    // Without the carry the context remembers the input it was given: the same every time.
    let remembered = run_times("", "2", carrying_graph(), 3).await;
    assert_eq!(
        remembered["outputs"]["z"],
        serde_json::json!([2.0, 2.0]),
        "{remembered}"
    );

    // A held output stays on the host, its key returned in its place; another graph's context
    // given only that key takes it as its input: ones doubled by the first, again by the second.
    let hold = r#"{"prepare":"onnx","hold":["y"]}"#;
    let take = |key: Option<i64>| {
        let mut body = carrying_graph();
        let then = body.len();
        body.extend(taking_graph());
        let key = key.map(|k| format!("&key={k}")).unwrap_or_default();
        let path = format!(
            "/nn?input=x&dims=2&prepare={}&then={then}{key}",
            encode(hold)
        );
        async move { send(addr, "POST", &path, body).await.json() }
    };
    let taken = take(None).await;
    assert_eq!(
        taken["first"]["outputs"]["z"],
        serde_json::json!([2.0, 2.0]),
        "{taken}"
    );
    assert!(
        taken["first"]["outputs"]["y"].is_null(),
        "held, not returned: {taken}"
    );
    let key = taken["first"]["outputs"][vox_nn::HELD][0]
        .as_i64()
        .unwrap_or_else(|| panic!("no key: {taken}"));
    assert_eq!(
        taken["then"]["outputs"]["z"],
        serde_json::json!([4.0, 4.0]),
        "{taken}"
    );
    // A key nothing holds is an error to the component.
    for key in [0, key + 1000] {
        let answer = take(Some(key)).await;
        let error = answer["error"]
            .as_str()
            .unwrap_or_else(|| panic!("key {key}: {answer}"));
        assert!(error.starts_with("inference"), "key {key}: {error}");
    }

    // The host is still serving, and the cached graph still runs.
    assert_eq!(get(addr, "/counter").await.status, 200);
    assert_eq!(
        run("", "2", doubling_graph()).await["outputs"],
        doubled["outputs"]
    );
}
