//! The gateway's public API over the real asr and tts services: listings, the OpenAI-compatible
//! routes, and the streamed end-to-end flow.

use std::io::{BufRead, BufReader, Read};
use std::time::Instant;

use vox_app_tests::{app, fixture, multipart};

#[test]
fn voices_and_models_are_listed() {
    let (status, voices) = app().get_json("/api/voices");
    assert_eq!(status, 200);
    let joe = voices["voices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "en_US-joe-medium");
    assert_eq!(joe.expect("bundled voice listed")["sample_rate"], 22050);

    let (status, models) = app().get_json("/api/models");
    assert_eq!(status, 200);
    assert_eq!(models["default"], "tiny.en");
    let ids: Vec<&str> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"tiny.en") && ids.contains(&"base"), "{ids:?}");

    let (status, list) = app().get_json("/v1/models");
    assert_eq!(status, 200);
    assert_eq!(list["object"], "list");
}

#[test]
fn openapi_document_is_served() {
    let (status, doc) = app().get_json("/openapi.json");
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/v1/audio/transcriptions"].is_object());
}

#[test]
fn the_page_and_its_files_are_served() {
    let get = |path: &str| {
        let mut resp = app().agent().get(&app().url(path)).call().expect("GET");
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let (content_type, csp) = (header("content-type"), header("content-security-policy"));
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().expect("a text body");
        (status, content_type, csp, body)
    };
    let (status, content_type, csp, html) = get("/");
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let script = get("/page/app.js").3;
    // Each file, the type it is served as, and the file that loads it.
    for (path, kind, loader) in [
        ("/page/app.js", "text/javascript", &html),
        ("/page/app.css", "text/css", &html),
        ("/page/capture-worklet.js", "text/javascript", &script),
    ] {
        assert!(loader.contains(path), "nothing loads {path}");
        let (status, content_type, _, body) = get(path);
        assert_eq!(status, 200, "{path}");
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(!body.is_empty(), "{path}");
    }
    // The page is the only thing at the root: other paths there are still unknown.
    let (status, ..) = get("/index.html");
    assert_eq!(status, 404);
}

#[test]
fn openai_transcription_in_every_format() {
    let audio = fixture("jfk.flac");
    let transcribe = |format: &str| {
        let (ct, body) = multipart(
            &[("model", "whisper-1"), ("response_format", format)],
            ("file", "jfk.flac", &audio),
        );
        let resp = app().post("/v1/audio/transcriptions", &ct, &body);
        assert_eq!(
            resp.status,
            200,
            "{format}: {}",
            String::from_utf8_lossy(&resp.body)
        );
        resp
    };
    let json = transcribe("json").json();
    let text = json["text"].as_str().unwrap().to_string();
    assert!(
        text.contains("ask not what your country can do for you"),
        "{text}"
    );
    let plain = String::from_utf8(transcribe("text").body).unwrap();
    assert_eq!(plain.trim(), text.trim());
    let srt = String::from_utf8(transcribe("srt").body).unwrap();
    assert!(srt.starts_with("1\n00:00:00,000 --> "), "{srt}");
    let vtt = String::from_utf8(transcribe("vtt").body).unwrap();
    assert!(vtt.starts_with("WEBVTT"), "{vtt}");
    let verbose = transcribe("verbose_json").json();
    assert_eq!(verbose["language"], "english");
    assert!(!verbose["segments"].as_array().unwrap().is_empty());

    let (ct, body) = multipart(&[("response_format", "mp4")], ("file", "jfk.flac", &audio));
    let resp = app().post("/v1/audio/transcriptions", &ct, &body);
    assert_eq!(resp.status, 400);
    assert!(
        resp.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("response_format")
    );
}

#[test]
fn openai_speech_streams_wav() {
    let body = serde_json::json!({"model": "tts-1", "input": "Hello from Vox.", "voice": "echo", "response_format": "wav"});
    let resp = app().post(
        "/v1/audio/speech",
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(&resp.body[..4], b"RIFF");
    let seconds = (resp.body.len() - 44) as f64 / 2.0 / 22050.0;
    assert!((0.5..4.0).contains(&seconds), "{seconds}");

    let bad = serde_json::json!({"model": "tts-1", "input": "Hi", "voice": "echo", "response_format": "aac"});
    let resp = app().post(
        "/v1/audio/speech",
        "application/json",
        bad.to_string().as_bytes(),
    );
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["error"]["type"], "invalid_request_error");
}

#[test]
fn e2e_streams_speech_of_the_transcript() {
    let started = Instant::now();
    let mut resp = app()
        .agent()
        .post(&app().url("/api/e2e"))
        .header("content-type", "audio/flac")
        .send(&fixture("jfk.flac")[..])
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "audio/wav");
    let mut reader = resp.body_mut().as_reader();
    let mut buf = vec![0u8; 4096];
    let mut chunks = Vec::new();
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        chunks.push((started.elapsed(), n));
    }
    let total: usize = chunks.iter().map(|c| c.1).sum();
    assert!(
        total > 22050 * 2 * 3,
        "{total} bytes of speech for an 11 s transcript"
    );
    let (first, last) = (chunks.first().unwrap().0, chunks.last().unwrap().0);
    assert!(first < last, "audio arrived all at once");
}

#[test]
fn e2e_event_stream_orders_transcript_audio_done() {
    let mut resp = app()
        .agent()
        .post(&app().url("/api/e2e"))
        .header("content-type", "audio/flac")
        .header("accept", "text/event-stream")
        .send(&fixture("jfk.flac")[..])
        .unwrap();
    assert_eq!(resp.status(), 200);
    let events: Vec<String> = BufReader::new(resp.body_mut().as_reader())
        .lines()
        .map(Result::unwrap)
        .filter_map(|l| l.strip_prefix("event: ").map(str::to_string))
        .collect();
    assert_eq!(
        events.first().map(String::as_str),
        Some("transcript"),
        "{events:?}"
    );
    assert_eq!(
        events.last().map(String::as_str),
        Some("done"),
        "{events:?}"
    );
    let middle = &events[1..events.len() - 1];
    assert!(
        middle.iter().all(|e| e == "audio" || e == "transcript")
            && middle.iter().filter(|e| *e == "audio").count() > 1,
        "{events:?}"
    );
}

#[test]
fn e2e_rejects_bad_audio() {
    let resp = app().post("/api/e2e", "audio/wav", b"not audio at all");
    assert!((400..500).contains(&resp.status));
    resp.error_code();
}

/// An OpenAI transcription of `audio` with form `fields`.
fn openai_transcribe(fields: &[(&str, &str)], audio: &[u8]) -> vox_app_tests::Response {
    let (ct, body) = multipart(fields, ("file", "audio.flac", audio));
    app().post("/v1/audio/transcriptions", &ct, &body)
}

/// Asserts OpenAI's error shape with `status`, `code` and `param`; returns the message.
fn openai_error(
    resp: &vox_app_tests::Response,
    status: u16,
    code: &str,
    param: Option<&str>,
) -> String {
    let json = resp.json();
    assert_eq!(resp.status, status, "{json}");
    let error = &json["error"];
    assert_eq!(error["code"], code, "{json}");
    assert_eq!(error["param"].as_str(), param, "{json}");
    assert!(error["type"].is_string(), "not OpenAI's shape: {json}");
    error["message"].as_str().expect("a message").to_string()
}

#[test]
fn openai_verbose_json_counts_segments_from_zero_and_reports_usage() {
    let audio = fixture("jfk.flac");
    let native = app().post("/api/asr", "audio/flac", &audio).json();
    let duration = native["duration"].as_f64().unwrap();
    assert!((10.0..12.0).contains(&duration), "{duration}");
    // faster-whisper numbers its segments from 1; the native answer keeps that.
    assert_eq!(native["segments"][0]["id"], 1);

    let json = openai_transcribe(&[("model", "whisper-1")], &audio).json();
    assert_eq!(
        json["usage"],
        serde_json::json!({"type": "duration", "seconds": duration}),
        "{json}"
    );
    let verbose = openai_transcribe(
        &[("model", "whisper-1"), ("response_format", "verbose_json")],
        &audio,
    )
    .json();
    assert_eq!(verbose["usage"], json["usage"]);
    let ids: Vec<u64> = verbose["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    assert!(!ids.is_empty());
    assert_eq!(ids, (0..ids.len() as u64).collect::<Vec<_>>());
    // An English-only model does not detect its language.
    assert!(verbose.get("language_probability").is_none(), "{verbose}");
}

#[test]
fn openai_models_are_retrieved_by_any_name_requests_take() {
    for (id, owner) in [
        ("whisper-1", "vox"),
        ("gpt-4o-mini-transcribe-2025-12-15", "vox"),
        ("tiny.en", "vox-whisper"),
        ("Systran/faster-whisper-tiny.en", "vox-whisper"),
        ("Systran%2Ffaster-whisper-base", "vox-whisper"),
        ("tts-1-hd", "vox-piper"),
    ] {
        let (status, model) = app().get_json(&format!("/v1/models/{id}"));
        assert_eq!(status, 200, "{id}: {model}");
        assert_eq!(model["object"], "model");
        assert_eq!(model["owned_by"], owner, "{id}");
        assert_eq!(model["id"], id.replace("%2F", "/"));
    }
    let (_, list) = app().get_json("/v1/models");
    for listed in list["data"].as_array().unwrap() {
        let id = listed["id"].as_str().unwrap();
        let (status, model) = app().get_json(&format!("/v1/models/{id}"));
        assert_eq!((status, &model), (200, listed), "{id}");
    }
    let (status, body) = app().get("/v1/models/large-v3");
    let resp = vox_app_tests::Response {
        status,
        headers: Vec::new(),
        body,
    };
    let message = openai_error(&resp, 404, "model_not_found", Some("model"));
    assert!(
        message.contains("tiny.en") && message.contains("base"),
        "the installed models are listed: {message}"
    );
}

#[test]
fn openai_model_names_are_taken_leniently() {
    let audio = fixture("jfk.flac");
    let text = |model: &str| {
        let resp = openai_transcribe(&[("model", model)], &audio);
        assert_eq!(
            resp.status,
            200,
            "{model}: {}",
            String::from_utf8_lossy(&resp.body)
        );
        resp.json()["text"].as_str().unwrap().to_string()
    };
    let default = text("whisper-1");
    for model in [
        "gpt-4o-transcribe-2025-03-20",
        "Systran/faster-whisper-tiny.en",
        "TINY.EN",
    ] {
        assert_eq!(text(model), default, "{model}");
    }
    // A checkpoint name of the multilingual model reaches that model: it detects the language.
    let verbose = openai_transcribe(
        &[
            ("model", "Systran/faster-whisper-base"),
            ("response_format", "verbose_json"),
        ],
        &audio,
    )
    .json();
    assert_eq!(verbose["language"], "english");
    let p = verbose["language_probability"].as_f64().expect("detected");
    assert!((0.5..=1.0).contains(&p), "{p}");

    // asr answers this one; OpenAI's own model_not_found names no param either.
    let message = openai_error(
        &openai_transcribe(&[("model", "Systran/faster-whisper-large-v3")], &audio),
        404,
        "model_not_found",
        None,
    );
    assert!(
        message.contains("installed: ") && message.contains("tiny.en"),
        "{message}"
    );

    let speech = |model: &str| {
        let body = serde_json::json!({"model": model, "input": "Hi.", "voice": "alloy", "response_format": "wav"});
        app().post(
            "/v1/audio/speech",
            "application/json",
            body.to_string().as_bytes(),
        )
    };
    assert_eq!(speech("gpt-4o-mini-tts-2025-03-20").status, 200);
    let message = openai_error(&speech("tts-2"), 404, "model_not_found", Some("model"));
    assert!(message.contains("tts-1-hd"), "{message}");
}

#[test]
fn openai_speech_takes_marin_and_cedar() {
    for voice in ["marin", "cedar", "Marin"] {
        let body = serde_json::json!({"model": "gpt-4o-mini-tts", "input": "Hello from Vox.", "voice": voice, "response_format": "wav"});
        let resp = app().post_json("/v1/audio/speech", &body).expect_ok(voice);
        let rate = u32::from_le_bytes(resp.body[24..28].try_into().unwrap());
        let seconds = (resp.body.len() - 44) as f64 / 2.0 / f64::from(rate);
        assert!((0.5..4.0).contains(&seconds), "{voice}: {seconds}");
    }
}

#[test]
fn openai_extension_fields_are_honoured_or_refused() {
    let audio = fixture("jfk.flac");
    let verbose = |extra: &[(&str, &str)]| {
        let mut fields = vec![("response_format", "verbose_json")];
        fields.extend_from_slice(extra);
        let resp = openai_transcribe(&fields, &audio);
        assert_eq!(
            resp.status,
            200,
            "{extra:?}: {}",
            String::from_utf8_lossy(&resp.body)
        );
        resp.json()
    };
    let tokens = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        v["segments"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["tokens"].as_array().unwrap().clone())
            .collect()
    };
    let words = |v: &serde_json::Value| vox_app_tests::words(v["text"].as_str().unwrap());

    // beam_size reaches the decoder: greedy decoding of clear speech gives the same words.
    let plain = verbose(&[]);
    assert_eq!(words(&verbose(&[("beam_size", "1")])), words(&plain));

    // hotwords prompt every window as faster-whisper's do, so on a one-window clip they decode
    // exactly as the same text given as the prompt — and differently from no prompt at all.
    let hint = "and so my fellow americans ask not what your country can do for you";
    let hot = verbose(&[("hotwords", hint)]);
    assert_eq!(tokens(&hot), tokens(&verbose(&[("prompt", hint)])));
    assert_ne!(tokens(&hot), tokens(&plain), "the hotwords changed nothing");

    // language: honoured on a multilingual model, refused where it cannot be.
    let given = verbose(&[("model", "base"), ("language", "EN")]);
    assert_eq!(given["language"], "english");
    assert!(given.get("language_probability").is_none(), "{given}");
    // The gateway names the field at fault; asr, which alone knows the model is English-only,
    // says so in the message.
    for (fields, param, named) in [
        (&[("language", "de")][..], "language", false),
        (
            &[("model", "base"), ("language", "klingon")],
            "language",
            true,
        ),
        (&[("beam_size", "0")], "beam_size", true),
        (&[("vad_filter", "sometimes")], "vad_filter", true),
        (&[("best_of", "3")], "best_of", true),
    ] {
        let message = openai_error(
            &openai_transcribe(fields, &audio),
            400,
            "invalid_parameter",
            named.then_some(param),
        );
        assert!(message.contains(param), "{message}");
    }
}

#[test]
fn openai_transcription_skips_silence_with_vad_by_default() {
    let silence = vox_app_tests::wav(&vec![0i16; 16_000 * 30], 16_000);
    let text = |resp: vox_app_tests::Response| {
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        resp.json()["text"].as_str().unwrap().to_string()
    };
    let (ct, body) = multipart(&[("model", "whisper-1")], ("file", "silence.wav", &silence));
    assert_eq!(text(app().post("/v1/audio/transcriptions", &ct, &body)), "");

    // Without VAD Whisper hears something in the silence; the native route keeps VAD off.
    let (ct, body) = multipart(
        &[("model", "whisper-1"), ("vad_filter", "false")],
        ("file", "silence.wav", &silence),
    );
    let unfiltered = text(app().post("/v1/audio/transcriptions", &ct, &body));
    assert!(
        !unfiltered.is_empty(),
        "the test no longer shows what VAD is for"
    );
    assert_eq!(
        text(app().post("/api/asr", "audio/wav", &silence)),
        unfiltered
    );
    assert_eq!(
        text(app().post("/api/asr?vad_filter=true", "audio/wav", &silence)),
        ""
    );
}

#[test]
fn host_errors_under_v1_take_openai_shape() {
    let small = vox_app_tests::small_body_app();
    let audio = vec![0u8; vox_app_tests::SMALL_BODY_LIMIT as usize + 1];
    let (ct, body) = multipart(&[("model", "whisper-1")], ("file", "big.wav", &audio));
    let resp = small.post("/v1/audio/transcriptions", &ct, &body);
    let message = openai_error(&resp, 413, "payload_too_large", None);
    assert!(
        message.contains(&vox_app_tests::SMALL_BODY_LIMIT.to_string()),
        "{message}"
    );
    assert_eq!(resp.json()["error"]["type"], "invalid_request_error");
    // The native routes keep the native shape.
    let native = small.post("/api/asr", "audio/wav", &audio);
    assert_eq!(native.status, 413);
    assert_eq!(native.error_code(), "payload_too_large");
    assert!(native.json()["error"].get("type").is_none());
}
