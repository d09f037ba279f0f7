//! The official `openai` Python SDK, unchanged, against Vox: transcription in every
//! response_format with usage, speaches' extension fields, model retrieval, translation, and
//! streamed speech (`tests/openai_sdk_check.py`).

use vox_app_tests::{app, assert_openai_sdk_works};

#[test]
fn openai_python_sdk_works_unchanged() {
    assert_openai_sdk_works(&app().url("/v1"));
}
