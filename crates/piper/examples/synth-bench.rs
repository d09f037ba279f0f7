//! Measures plan build time and real-time factor per bucket.
//!
//! `cargo run --release -p vox-piper --example synth-bench -- [voice.onnx] [64,128,...] [optimized|decluttered] [split|single]`

use std::time::Instant;

use vox_piper::{Buckets, Optimisation, Voice, VoiceOptions};

const SENTENCES: [&str; 3] = [
    "hˈɛloʊ.",
    "ðə kwˈɪk bɹˈaʊn fˈɑːks dʒˈʌmps ˌoʊvɚ ðə lˈeɪzi dˈɑːɡ.",
    "ðə kwˈɪk bɹˈaʊn fˈɑːks dʒˈʌmps ˌoʊvɚ ðə lˈeɪzi dˈɑːɡ, ænd ðˈɛn ɪt ɹˈɛsts bᵻsˌaɪd ðə kwˈaɪət ɹˈɪvɚ.",
];

/// This thread's CPU time in seconds (Linux), which a busy machine inflates less than wall time.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(stat.split_whitespace().next()?.parse::<f64>().ok()? / 1e9)
}

fn main() -> vox_piper::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .map_or("models/voices/en_US-joe-medium.onnx", String::as_str);
    let sizes: Vec<usize> = args
        .get(2)
        .map_or("64,128,256,512", String::as_str)
        .split(',')
        .map(|s| s.parse().expect("bucket size"))
        .collect();
    let optimisation = match args.get(3).map(String::as_str) {
        Some("decluttered") => Optimisation::Decluttered,
        _ => Optimisation::Optimized,
    };
    let single_plan = args.get(4).is_some_and(|a| a == "single");
    let started = Instant::now();
    let options = VoiceOptions {
        buckets: Buckets::new(sizes.clone())?,
        optimisation,
        single_plan,
        warm_up: false,
        ..VoiceOptions::default()
    };
    let voice = Voice::load(path, options)?;
    println!("load {:.2} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    voice.warm_up()?;
    println!(
        "warm up {sizes:?}: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let params = voice.default_params().without_noise();
    for &size in &sizes {
        // A voice with one bucket, so each run uses exactly that bucket's plan.
        let options = VoiceOptions {
            buckets: Buckets::new([size])?,
            optimisation,
            single_plan,
            warm_up: false,
            ..VoiceOptions::default()
        };
        let one = Voice::load(path, options)?;
        let (started, cpu) = (Instant::now(), cpu_seconds());
        one.warm_up()?;
        let build_cpu = cpu.zip(cpu_seconds()).map_or(f64::NAN, |(a, b)| b - a);
        println!(
            "bucket {size}: plan build wall {:.2} s, cpu {build_cpu:.2} s",
            started.elapsed().as_secs_f64()
        );
        for phonemes in SENTENCES {
            let ids = one.phoneme_ids(phonemes);
            if ids.len() > size {
                continue;
            }
            let (mut best, mut best_cpu) = (f64::MAX, f64::MAX);
            let mut samples = 0;
            for _ in 0..3 {
                let (started, cpu) = (Instant::now(), cpu_seconds());
                samples = one.synthesize_ids(&ids, &params)?.len();
                best = best.min(started.elapsed().as_secs_f64());
                if let (Some(before), Some(after)) = (cpu, cpu_seconds()) {
                    best_cpu = best_cpu.min(after - before);
                }
            }
            let seconds = samples as f64 / f64::from(one.sample_rate());
            println!(
                "  {:3} ids -> {seconds:.2} s audio: wall {best:.3} s (RTF {:.3}), cpu {best_cpu:.3} s (RTF {:.3})",
                ids.len(),
                best / seconds,
                best_cpu / seconds
            );
        }
    }
    Ok(())
}
