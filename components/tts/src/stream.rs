//! Synthesis streamed as it happens: each piece of audio is written to the response body
//! before the next one is synthesized.

use std::rc::Rc;

use bytes::Bytes;
use futures::SinkExt;
use vox_api::{ApiError, ErrorCode};
use vox_http_kit::{Result, body, reply};
use vox_piper::SynthesisParams;

use vox_api::speech::{AudioFormat, Synthesize};
use vox_api::usage::{self, PcmLayout};
use vox_audio::{Encoding, StreamEncoder};

use crate::request;
use crate::voices::LoadedVoice;

pub fn respond(loaded: Rc<LoadedVoice>, request: Synthesize) -> Result {
    let params = params(&loaded, &request)?;
    let sentences: Vec<String> = loaded
        .phonemizer
        .phonemize_for_voice(&request.text)?
        .into_iter()
        .map(|s| s.phonemes)
        .filter(|p| !p.trim().is_empty())
        .collect();
    if sentences.is_empty() {
        return Err(
            ApiError::new(ErrorCode::EmptyText, "`text` has nothing to speak").with_param("text"),
        );
    }

    let voice_rate = loaded.voice.sample_rate();
    let mut encoder = StreamEncoder::new(
        encoding(request.format),
        voice_rate,
        request.sample_rate.unwrap_or(voice_rate),
    )
    .map_err(|e| ApiError::invalid_param("sample_rate", e.to_string()))?;
    let sample_rate = encoder.output_rate();
    // The synthesizer waits for the client to take each chunk (backpressure), and stops when
    // the client has gone (its sends fail).
    let (mut tx, body) = body::channel();
    spin_sdk::wasip3::spawn(async move {
        let synthesizer = loaded
            .voice
            .synthesizer(&sentences, params)
            .first_clause_early(true);
        for chunk in synthesizer {
            let item = chunk
                .map_err(|e| e.to_string())
                .and_then(|c| encoder.push(&c.samples).map_err(|e| e.to_string()))
                .map(Bytes::from)
                .map_err(std::io::Error::other);
            let failed = item.is_err();
            // An encoder may hold a whole frame back: nothing to send yet.
            if matches!(&item, Ok(b) if b.is_empty()) {
                continue;
            }
            if tx.send(item).await.is_err() || failed {
                return;
            }
            // Let the body writer hand this chunk to the host before the next synthesis.
            spin_sdk::wit_bindgen::yield_async().await;
        }
        let tail = encoder
            .finish()
            .map(Bytes::from)
            .map_err(|e| std::io::Error::other(e.to_string()));
        if !matches!(&tail, Ok(b) if b.is_empty()) {
            let _ = tx.send(tail).await;
        }
    });

    let mut resp = reply::streamed(request.format.content_type(), body);
    reply::set_header(&mut resp, "x-sample-rate", &sample_rate.to_string());
    reply::set_header(&mut resp, "x-channels", "1");
    if matches!(request.format, AudioFormat::Pcm | AudioFormat::Wav) {
        reply::set_header(&mut resp, "x-sample-format", "s16le");
        // Raw samples: the host counts the seconds spoken as the body passes.
        let pcm = PcmLayout {
            rate: sample_rate,
            channels: 1,
            offset: if request.format == AudioFormat::Wav {
                vox_audio::WAV_HEADER_LEN as u64
            } else {
                0
            },
        };
        reply::set_header(&mut resp, usage::AUDIO_PCM, &pcm.header_value());
    }
    Ok(resp)
}

/// The encoder for a response format.
fn encoding(format: AudioFormat) -> Encoding {
    match format {
        AudioFormat::Pcm => Encoding::Pcm,
        AudioFormat::Wav => Encoding::Wav,
        AudioFormat::Mp3 => Encoding::Mp3,
        AudioFormat::Opus => Encoding::Opus,
        AudioFormat::Flac => Encoding::Flac,
    }
}

fn params(loaded: &LoadedVoice, request: &Synthesize) -> Result<SynthesisParams> {
    let mut params = loaded.voice.default_params();
    if let Some(speed) = request.speed {
        params = params.with_speed(speed);
    }
    if let Some(v) = request.noise_scale {
        params.noise_scale = v;
    }
    if let Some(v) = request.noise_w {
        params.noise_w = v;
    }
    if let Some(v) = request.sentence_silence {
        params.sentence_silence = v;
    }
    if let Some(speaker) = &request.speaker {
        let speaker = request::speaker(speaker);
        // Resolve now so an unknown speaker is a 4xx before any audio is sent.
        loaded
            .voice
            .config()
            .speaker_id(Some(&speaker))
            .map_err(|e| ApiError::from(e).with_param("speaker"))?;
        params.speaker = Some(speaker);
    }
    Ok(params)
}
