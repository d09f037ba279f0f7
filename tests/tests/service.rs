//! The app's wiring: the gateway answers, the private services are reachable only through it.

use vox_app_tests::app;

#[test]
fn health_answers_json() {
    let (status, json) = app().get_json("/health");
    assert_eq!(status, 200);
    assert_eq!(json["status"], "ok");
}

#[test]
fn ready_reaches_asr_and_tts_through_chaining() {
    let (status, json) = app().get_json("/ready");
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["services"]["asr"], "ok");
    assert_eq!(json["services"]["tts"], "ok");
}

#[test]
fn unknown_route_is_a_json_404() {
    let resp = app().post("/no/such/route", "text/plain", b"x");
    assert_eq!(resp.status, 404);
    assert_eq!(resp.error_code(), "not_found");
}
