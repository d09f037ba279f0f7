//! The checkpoint reader and graph builder on a small model.bin written by the test.

use std::collections::HashMap;

use vox_whisper::checkpoint::{Checkpoint, DType, Variable, parse_model_bin, write_model_bin};
use vox_whisper::graph::Graphs;

fn f32_var(shape: &[usize], seed: u32) -> Variable {
    let n: usize = shape.iter().product();
    // Small deterministic values keep activations finite through the layers.
    let data = (0..n)
        .map(|i| {
            ((((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 1000.0 - 0.5) * 0.1
        })
        .flat_map(f32::to_le_bytes)
        .collect();
    Variable {
        shape: shape.to_vec(),
        dtype: DType::F32,
        data,
    }
}

fn f16_var(shape: &[usize], seed: u32) -> Variable {
    let v = f32_var(shape, seed);
    let data = v
        .to_f32()
        .iter()
        .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
        .collect();
    Variable {
        shape: shape.to_vec(),
        dtype: DType::F16,
        data,
    }
}

fn scalar_i16(v: i16) -> Variable {
    Variable {
        shape: vec![],
        dtype: DType::I16,
        data: v.to_le_bytes().to_vec(),
    }
}

/// A one-layer, one-head, d=64 Whisper with a 16-token vocabulary.
fn tiny_whisper() -> Vec<(String, Variable)> {
    let (d, mels, vocab) = (64, 80, 16);
    let mut vars: Vec<(String, Variable)> = Vec::new();
    let mut add = |name: &str, v: Variable| vars.push((name.to_owned(), v));
    add("encoder/num_heads", scalar_i16(1));
    add("decoder/num_heads", scalar_i16(1));
    add("encoder/conv1/weight", f16_var(&[d, mels, 3], 1));
    add("encoder/conv1/bias", f32_var(&[d], 2));
    add("encoder/conv2/weight", f16_var(&[d, d, 3], 3));
    add("encoder/conv2/bias", f32_var(&[d], 4));
    add(
        "encoder/position_encodings/encodings",
        f32_var(&[1500, d], 5),
    );
    let ln = |add: &mut dyn FnMut(&str, Variable), p: &str| {
        add(&format!("{p}/gamma"), f32_var(&[d], 6));
        add(&format!("{p}/beta"), f32_var(&[d], 7));
    };
    ln(&mut add, "encoder/layer_0/self_attention/layer_norm");
    add(
        "encoder/layer_0/self_attention/linear_0/weight",
        f16_var(&[3 * d, d], 8),
    );
    add(
        "encoder/layer_0/self_attention/linear_0/bias",
        f32_var(&[3 * d], 9),
    );
    add(
        "encoder/layer_0/self_attention/linear_1/weight",
        f16_var(&[d, d], 10),
    );
    add(
        "encoder/layer_0/self_attention/linear_1/bias",
        f32_var(&[d], 11),
    );
    for p in ["encoder/layer_0", "decoder/layer_0"] {
        ln(&mut add, &format!("{p}/ffn/layer_norm"));
        add(
            &format!("{p}/ffn/linear_0/weight"),
            f16_var(&[4 * d, d], 12),
        );
        add(&format!("{p}/ffn/linear_0/bias"), f32_var(&[4 * d], 13));
        add(
            &format!("{p}/ffn/linear_1/weight"),
            f16_var(&[d, 4 * d], 14),
        );
        add(&format!("{p}/ffn/linear_1/bias"), f32_var(&[d], 15));
    }
    ln(&mut add, "encoder/layer_norm");
    add("decoder/embeddings/weight", f16_var(&[vocab, d], 16));
    add(
        "decoder/position_encodings/encodings",
        f32_var(&[448, d], 17),
    );
    ln(&mut add, "decoder/layer_0/self_attention/layer_norm");
    add(
        "decoder/layer_0/self_attention/linear_0/weight",
        f16_var(&[3 * d, d], 18),
    );
    add(
        "decoder/layer_0/self_attention/linear_0/bias",
        f32_var(&[3 * d], 19),
    );
    add(
        "decoder/layer_0/self_attention/linear_1/weight",
        f16_var(&[d, d], 20),
    );
    add(
        "decoder/layer_0/self_attention/linear_1/bias",
        f32_var(&[d], 21),
    );
    ln(&mut add, "decoder/layer_0/attention/layer_norm");
    // int8 query weights with per-row scales, as int8 CTranslate2 checkpoints store them.
    let q: Vec<u8> = (0..d * d).map(|i| ((i % 7) as i8 - 3) as u8).collect();
    add(
        "decoder/layer_0/attention/linear_0/weight",
        Variable {
            shape: vec![d, d],
            dtype: DType::I8,
            data: q,
        },
    );
    add(
        "decoder/layer_0/attention/linear_0/weight_scale",
        Variable {
            shape: vec![d],
            dtype: DType::F32,
            data: (0..d)
                .flat_map(|r| (100.0 + r as f32).to_le_bytes())
                .collect(),
        },
    );
    add("decoder/layer_0/attention/linear_0/bias", f32_var(&[d], 22));
    add(
        "decoder/layer_0/attention/linear_1/weight",
        f16_var(&[2 * d, d], 23),
    );
    add(
        "decoder/layer_0/attention/linear_1/bias",
        f32_var(&[2 * d], 24),
    );
    add(
        "decoder/layer_0/attention/linear_2/weight",
        f16_var(&[d, d], 25),
    );
    add("decoder/layer_0/attention/linear_2/bias", f32_var(&[d], 26));
    ln(&mut add, "decoder/layer_norm");
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// Writes the checkpoint to its own temporary directory (`tag` keeps parallel tests apart).
fn load_tiny(tag: &str) -> Checkpoint {
    let vars = tiny_whisper();
    let refs: Vec<(&str, &Variable)> = vars.iter().map(|(n, v)| (n.as_str(), v)).collect();
    let bytes = write_model_bin(
        &refs,
        &[("decoder/projection/weight", "decoder/embeddings/weight")],
    );
    let dir = std::env::temp_dir().join(format!("vox-whisper-ckpt-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.bin"), bytes).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"suppress_ids": [1, 2], "suppress_ids_begin": [3, 8], "alignment_heads": [[0, 0]]}"#,
    )
    .unwrap();
    let vocab: Vec<String> = (0..16).map(|i| format!("t{i}")).collect();
    std::fs::write(dir.join("vocabulary.txt"), vocab.join("\n")).unwrap();
    let ckpt = Checkpoint::load(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    ckpt
}

#[test]
fn reads_variables_dims_and_config() {
    let ckpt = load_tiny("dims");
    let d = ckpt.dims;
    assert_eq!(
        (d.n_mels, d.n_audio_ctx, d.d_model, d.n_vocab, d.n_text_ctx),
        (80, 1500, 64, 16, 448)
    );
    assert_eq!(
        (
            d.n_audio_head,
            d.n_text_head,
            d.n_audio_layer,
            d.n_text_layer
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(ckpt.config.suppress_ids, vec![1, 2]);
    assert_eq!(ckpt.config.alignment_heads, vec![(0, 0)]);
    assert_eq!(ckpt.vocabulary[15], "t15");
    // Aliases resolve to their target.
    assert_eq!(
        ckpt.f32("decoder/projection/weight").unwrap(),
        ckpt.f32("decoder/embeddings/weight").unwrap()
    );
    // f16 values round-trip through half precision.
    let conv = ckpt.f32("encoder/conv1/weight").unwrap();
    let exact = f32_var(&[64, 80, 3], 1).to_f32();
    assert!(conv.iter().zip(&exact).all(|(a, b)| (a - b).abs() < 1e-4));
    // int8 weights are divided by their row scale.
    let q = ckpt
        .f32("decoder/layer_0/attention/linear_0/weight")
        .unwrap();
    assert_eq!(q[64 + 1], ((65 % 7) as f32 - 3.0) / 101.0);
}

#[test]
fn rejects_truncated_and_mis_sized_files() {
    let vars = tiny_whisper();
    let refs: Vec<(&str, &Variable)> = vars.iter().map(|(n, v)| (n.as_str(), v)).collect();
    let bytes = write_model_bin(&refs, &[]);
    let err = parse_model_bin(&bytes[..bytes.len() / 2])
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated"), "{err}");
    let bad = Variable {
        shape: vec![2, 2],
        dtype: DType::F32,
        data: vec![0; 12],
    };
    let err = parse_model_bin(&write_model_bin(&[("x", &bad)], &[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("12 bytes for shape [2, 2]"), "{err}");
    let (vars, aliases) = parse_model_bin(&write_model_bin(&[], &[("a", "b")])).unwrap();
    assert!(vars.is_empty());
    assert_eq!(aliases, HashMap::from([("a".to_owned(), "b".to_owned())]));
}

#[test]
fn builds_graphs_for_other_sizes() {
    use tract_onnx::prelude::*;
    let ckpt = load_tiny("graphs");
    let graphs = Graphs::build(&ckpt).unwrap();
    let mel = Tensor::zero::<f32>(&[1, 80, 3000]).unwrap();
    let out = graphs.audio.run(tvec![mel.into_tvalue()]).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].shape(), &[1, 1, 64, 1500]);
    assert_eq!(out[1].shape(), &[1, 1, 1500, 64]);
}

/// A model directory holding only the vocabulary file `name` with `size` tokens.
fn vocabulary_dir(tag: &str, name: &str, size: usize) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vox-whisper-vocab-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tokens: Vec<String> = (0..size).map(|i| format!("t{i}")).collect();
    let text = match name {
        "vocabulary.txt" => tokens.join("\n"),
        "vocabulary.json" => serde_json::to_string(&tokens).unwrap(),
        _ => {
            let vocab: serde_json::Map<String, serde_json::Value> = tokens
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), i.into()))
                .collect();
            serde_json::json!({"model": {"vocab": vocab, "merges": []}, "added_tokens": []})
                .to_string()
        }
    };
    std::fs::write(dir.join(name), text).unwrap();
    dir
}

#[test]
fn multilingual_is_read_from_any_vocabulary_file() {
    for name in ["vocabulary.txt", "vocabulary.json", "tokenizer.json"] {
        for (size, multilingual) in [(51_864, false), (51_865, true)] {
            let dir = vocabulary_dir(&format!("{name}-{size}"), name, size);
            let got = vox_whisper::is_multilingual(&dir).unwrap();
            std::fs::remove_dir_all(&dir).unwrap();
            assert_eq!(got, multilingual, "{name} with {size} tokens");
        }
    }
    let empty = std::env::temp_dir().join(format!("vox-whisper-novocab-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    assert!(vox_whisper::is_multilingual(&empty).is_err());
    std::fs::remove_dir_all(&empty).unwrap();
}
