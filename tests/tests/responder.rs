//! The end-to-end flow with a responder between hearing and speaking: the transcript goes to
//! the example responder component, and its streamed reply is what is spoken.

use vox_app_tests::{App, app, fixture, responder_app, wer};

/// What the example responder says back to `transcript` (which ends with a full stop).
fn expected_reply(transcript: &str) -> String {
    let words = transcript.split_whitespace().count();
    format!("I heard you say: {transcript} That was {words} words.")
}

/// `/api/e2e` on the JFK fixture as events: each event's name and data, in order.
fn e2e_events(app: &App) -> Vec<(String, serde_json::Value)> {
    let streamed = app.post_lines(
        "/api/e2e",
        &[
            ("content-type", "audio/flac"),
            ("accept", "text/event-stream"),
        ],
        &fixture("jfk.flac"),
    );
    assert_eq!(streamed.status, 200);
    let events: Vec<_> = streamed
        .events()
        .into_iter()
        .map(|(_, name, data)| (name, data))
        .collect();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"transcript"), "{names:?}");
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    events
}

/// Seconds of speech a `done` event counts.
fn spoken_seconds(done: &serde_json::Value) -> f64 {
    done["bytes"].as_f64().unwrap() / 2.0 / done["sample_rate"].as_f64().unwrap()
}

#[test]
fn the_reply_is_streamed_as_events_after_the_transcript() {
    let events = e2e_events(responder_app());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    let (_, done) = events.last().unwrap();
    let transcript = done["text"].as_str().unwrap();
    assert!(
        transcript.contains("ask not what your country"),
        "{transcript}"
    );

    // The reply follows the whole transcript, before its audio, and its pieces add up to it.
    let position = |name: &str| names.iter().position(|n| *n == name);
    let last_transcript = names.iter().rposition(|n| *n == "transcript").unwrap();
    let first_reply = position("reply").expect("reply events");
    assert!(first_reply > last_transcript, "{names:?}");
    assert!(position("audio").unwrap() > first_reply, "{names:?}");
    let pieces: Vec<&str> = events
        .iter()
        .filter(|(n, _)| n == "reply")
        .map(|(_, e)| e["text"].as_str().unwrap())
        .collect();
    let reply = done["reply"].as_str().expect("done.reply");
    assert_eq!(pieces.concat().trim(), reply);
    assert_eq!(reply, expected_reply(transcript));

    // Without a responder the same flow speaks the transcript, and says nothing of a reply.
    let plain = e2e_events(app());
    assert!(plain.iter().all(|(n, _)| n != "reply"));
    let (_, plain_done) = plain.last().unwrap();
    assert!(plain_done.get("reply").is_none(), "{plain_done}");
    assert_eq!(plain_done["text"], done["text"]);
    // The reply has eight words more than the transcript (30 against 22), so it speaks longer.
    let (with_reply, without) = (spoken_seconds(done), spoken_seconds(plain_done));
    assert!(
        with_reply > 1.15 * without,
        "{with_reply} s of reply against {without} s of transcript"
    );
}

#[test]
fn the_spoken_answer_is_the_reply() {
    let audio = fixture("jfk.flac");
    let answer = responder_app().post("/api/e2e", "audio/flac", &audio);
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.header("content-type"), Some("audio/wav"));
    let heard = app()
        .post("/api/asr", "audio/wav", &answer.body)
        .expect_ok("asr");
    let spoken = heard.json()["text"].as_str().unwrap().to_string();
    let question = app()
        .post("/api/asr", "audio/flac", &audio)
        .expect_ok("asr");
    let reply = expected_reply(question.json()["text"].as_str().unwrap().trim());
    // The answer's speech, transcribed, is the reply, not the transcript: that would miss
    // eight of its 30 words (tiny.en may mishear one or two).
    let error_rate = wer(&reply, &spoken);
    assert!(
        error_rate <= 0.1,
        "WER {error_rate:.2}: {spoken:?} for {reply:?}"
    );
}
