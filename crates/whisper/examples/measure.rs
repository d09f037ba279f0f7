//! Times model loading, the encoder on a 30 s window and decoding per token.
//!
//! `cargo run --release -p vox-whisper --example measure -- models/whisper/tiny.en clip.wav`
//! Prints wall time and this process's CPU time (the machine may be shared).

mod common;

use std::time::Instant;

use common::{cpu_seconds, read_wav};

use vox_whisper::{Model, TranscribeOptions, mel};

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
    let samples = read_wav(wav)?;

    let c = Clock::start();
    let model = Model::load(dir.as_ref())?;
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

    for beam_size in [1, 5] {
        let opts = TranscribeOptions {
            beam_size,
            ..Default::default()
        };
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
            "beam {beam_size}: {:.1} s of audio in {wall:.2} s wall, {cpu:.2} s cpu; {steps} steps, \
             {:.1} ms/step wall, {:.1} ms/step cpu (encoder excluded)",
            transcript.duration,
            (wall - windows * enc_wall) * 1000.0 / steps as f64,
            (cpu - windows * enc_cpu) * 1000.0 / steps as f64,
        );
    }
    Ok(())
}
