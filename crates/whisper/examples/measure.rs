//! Times model loading, the encoder on a 30 s window, decoding per token, and what a long file
//! adds per window (previous-text prompts, temperature fallbacks).
//!
//! `cargo run --release -p vox-whisper --example measure -- models/whisper/tiny.en clip.wav [int8]`
//! Prints wall time and this process's CPU time (the machine may be shared).

mod common;

use std::time::Instant;

use common::{cpu_seconds, read_wav};

use vox_whisper::{ComputeType, Model, TranscribeOptions, Transcript, mel};

/// A change to the default options.
type Variant = fn(&mut TranscribeOptions);

struct Clock(Instant, f64);

impl Clock {
    fn start() -> Clock {
        Clock(Instant::now(), cpu_seconds())
    }
    fn read(&self) -> (f64, f64) {
        (self.0.elapsed().as_secs_f64(), cpu_seconds() - self.1)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .map(String::as_str)
        .unwrap_or("models/whisper/tiny.en");
    let wav = args.get(2).ok_or("usage: measure MODEL_DIR CLIP.wav")?;
    let compute_type: ComputeType = args
        .get(3)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or_default();
    let samples = read_wav(wav)?;

    let c = Clock::start();
    let model = Model::load_with(dir.as_ref(), compute_type)?;
    let (wall, cpu) = c.read();
    println!("load + optimise: {wall:.2} s wall, {cpu:.2} s cpu");

    let window = vec![0f32; model.dims().n_mels * mel::N_FRAMES];
    model.encode(&window)?;
    let runs = 3;
    let c = Clock::start();
    for _ in 0..runs {
        model.encode(&window)?;
    }
    let (wall, cpu) = c.read();
    let (enc_wall, enc_cpu) = (wall / runs as f64, cpu / runs as f64);
    println!("encoder, 30 s window: {enc_wall:.3} s wall, {enc_cpu:.3} s cpu");

    let variants: [(&str, Variant); 3] = [
        ("defaults", |_| {}),
        ("without previous text", |o| {
            o.condition_on_previous_text = false
        }),
        ("without fallback", |o| o.temperatures = vec![0.0]),
    ];
    for beam_size in [1, 5] {
        for (variant, change) in variants {
            let mut opts = TranscribeOptions {
                beam_size,
                language: Some("en".into()),
                ..Default::default()
            };
            change(&mut opts);
            let c = Clock::start();
            let transcript = model.transcribe(&samples, &opts)?;
            let (wall, cpu) = c.read();
            let windows = (samples.len() as f64 / 480_000.0).ceil();
            let steps: usize = transcript
                .segments
                .iter()
                .map(|s| s.tokens.len())
                .sum::<usize>()
                + windows as usize;
            println!(
                "beam {beam_size}, {variant}: {:.1} s of audio in {wall:.2} s wall, {cpu:.2} s cpu; \
             {steps} steps, {:.1} ms/step wall, {:.1} ms/step cpu (encoder excluded); {}",
                transcript.duration,
                (wall - windows * enc_wall) * 1000.0 / steps as f64,
                (cpu - windows * enc_cpu) * 1000.0 / steps as f64,
                fallbacks(&transcript),
            );
        }
    }
    Ok(())
}

/// How many segments came from a fallback temperature, and the distinct windows.
fn fallbacks(t: &Transcript) -> String {
    let mut seeks: Vec<usize> = t.segments.iter().map(|s| s.seek).collect();
    seeks.dedup();
    let hot: Vec<String> = t
        .segments
        .iter()
        .filter(|s| s.temperature > 0.0)
        .map(|s| format!("seek {} at t={}", s.seek, s.temperature))
        .collect();
    format!("{} windows, fallbacks: [{}]", seeks.len(), hot.join(", "))
}
