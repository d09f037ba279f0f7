//! Machine-readable transcription timings for `python3 -m bench`: the library in-process, natively.
//!
//! `cargo run --release -p vox-whisper --example transcribe-bench -- [--compute-type int8|float32]
//! MODEL_DIR BEAMS CLIP.wav...`, e.g. `... -- models/whisper/tiny.en 1,5 a.wav b.wav` (float32 by
//! default). Prints one JSON object per line:
//! `{"event":"load",...}`, one `{"event":"transcribe",...}` per clip and beam size, and a final
//! `{"event":"done","peak_rss_kb":...}` with this process's peak resident memory.

mod common;

use std::time::Instant;

use common::{cpu_seconds, peak_rss_kb, read_wav};

use serde_json::json;
use vox_whisper::{ComputeType, Model, TranscribeOptions};

fn parse_beams(list: &str) -> Result<Vec<usize>, std::num::ParseIntError> {
    list.split(',').map(str::parse).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut compute_type = ComputeType::Float32;
    if args.first().map(String::as_str) == Some("--compute-type") && args.len() > 1 {
        compute_type = args[1].parse()?;
        args.drain(..2);
    }
    let [dir, beams, clips @ ..] = args.as_slice() else {
        return Err("usage: bench [--compute-type T] MODEL_DIR BEAMS CLIP.wav...".into());
    };
    let beams = parse_beams(beams)?;

    let (started, cpu) = (Instant::now(), cpu_seconds());
    let model = Model::load_with(dir.as_ref(), compute_type)?;
    let load = json!({"event": "load", "wall_s": started.elapsed().as_secs_f64(), "cpu_s": cpu_seconds() - cpu});
    println!("{load}");

    for clip in clips {
        let samples = read_wav(clip)?;
        for &beam_size in &beams {
            let options = TranscribeOptions {
                language: Some("en".into()),
                beam_size,
                ..Default::default()
            };
            let (started, cpu) = (Instant::now(), cpu_seconds());
            let transcript = model.transcribe(&samples, &options)?;
            let line = json!({
                "event": "transcribe",
                "clip": clip,
                "beam_size": beam_size,
                "wall_s": started.elapsed().as_secs_f64(),
                "cpu_s": cpu_seconds() - cpu,
                "duration_s": transcript.duration,
                "text": transcript.text,
            });
            println!("{line}");
        }
    }
    println!("{}", json!({"event": "done", "peak_rss_kb": peak_rss_kb()}));
    Ok(())
}
