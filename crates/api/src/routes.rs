//! The gateway's route table, shared by its router and by the test that keeps the OpenAPI
//! document in step with it.

/// What a route does; the gateway matches on this exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Health,
    Ready,
    OpenApi,
    Asr,
    Tts,
    E2e,
    Voices,
    Models,
    Transcriptions,
    Translations,
    Speech,
    OpenAiModels,
    /// `GET /v1/models/{model}`: one model object.
    OpenAiModel,
    /// The browser page and its assets (served without the API key).
    Page(PageFile),
}

/// The files of the browser page the gateway embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFile {
    Html,
    Script,
    Style,
    /// The AudioWorklet that captures microphone samples.
    CaptureWorklet,
}

#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub endpoint: Endpoint,
}

const fn route(method: &'static str, path: &'static str, endpoint: Endpoint) -> Route {
    Route {
        method,
        path,
        endpoint,
    }
}

pub const ROUTES: &[Route] = &[
    route("GET", "/", Endpoint::Page(PageFile::Html)),
    route("GET", "/page/app.js", Endpoint::Page(PageFile::Script)),
    route("GET", "/page/app.css", Endpoint::Page(PageFile::Style)),
    route(
        "GET",
        "/page/capture-worklet.js",
        Endpoint::Page(PageFile::CaptureWorklet),
    ),
    route("GET", "/health", Endpoint::Health),
    route("GET", "/ready", Endpoint::Ready),
    route("GET", "/openapi.json", Endpoint::OpenApi),
    route("POST", "/api/asr", Endpoint::Asr),
    route("POST", "/api/tts", Endpoint::Tts),
    route("POST", "/api/e2e", Endpoint::E2e),
    route("GET", "/api/voices", Endpoint::Voices),
    route("GET", "/api/models", Endpoint::Models),
    route("POST", "/v1/audio/transcriptions", Endpoint::Transcriptions),
    route("POST", "/v1/audio/translations", Endpoint::Translations),
    route("POST", "/v1/audio/speech", Endpoint::Speech),
    route("GET", "/v1/models", Endpoint::OpenAiModels),
    route("GET", OPENAI_MODEL_PATH, Endpoint::OpenAiModel),
];

/// The one route with a path parameter. `{model}` takes the rest of the path, slashes and all,
/// as speaches' `/v1/models/{model_id:path}` does, so `Systran/faster-whisper-tiny.en` needs
/// no escaping.
pub const OPENAI_MODEL_PATH: &str = "/v1/models/{model}";

/// What `path` holds for `template`'s trailing `{param}`, percent-decoded; `None` if it does not
/// match (or `template` has no parameter). The parameter is never empty.
pub fn path_param(template: &str, path: &str) -> Option<String> {
    let prefix = template.strip_suffix('}')?.rsplit_once('{')?.0;
    let value = path.strip_prefix(prefix).filter(|v| !v.is_empty())?;
    Some(crate::percent::decode(value))
}

fn matches(template: &str, path: &str) -> bool {
    template == path || path_param(template, path).is_some()
}

/// The OpenAPI 3.1 description of [`ROUTES`], served at `GET /openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

/// The outcome of routing a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Found(Endpoint),
    /// The path exists but not for this method; the allowed methods.
    MethodNotAllowed(Vec<&'static str>),
    NotFound,
}

/// Routes `method path`; a trailing slash is ignored and `HEAD` is served like `GET`.
pub fn find(method: &str, path: &str) -> Match {
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let method = if method == "HEAD" { "GET" } else { method };
    let on_path: Vec<&Route> = ROUTES.iter().filter(|r| matches(r.path, path)).collect();
    match on_path.iter().find(|r| r.method == method) {
        Some(r) => Match::Found(r.endpoint),
        None if on_path.is_empty() => Match::NotFound,
        None => Match::MethodNotAllowed(on_path.iter().map(|r| r.method).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn routing() {
        assert_eq!(find("GET", "/health"), Match::Found(Endpoint::Health));
        assert_eq!(find("HEAD", "/health/"), Match::Found(Endpoint::Health));
        assert_eq!(
            find("GET", "/v1/audio/speech"),
            Match::MethodNotAllowed(vec!["POST"])
        );
        assert_eq!(find("GET", "/nope"), Match::NotFound);
        assert_eq!(
            find("GET", "/"),
            Match::Found(Endpoint::Page(PageFile::Html))
        );
        assert_eq!(find("POST", "/"), Match::MethodNotAllowed(vec!["GET"]));
        assert_eq!(
            find("GET", "/page/app.js/"),
            Match::Found(Endpoint::Page(PageFile::Script))
        );
    }

    #[test]
    fn the_model_parameter_takes_the_rest_of_the_path() {
        assert_eq!(
            find("GET", "/v1/models/whisper-1"),
            Match::Found(Endpoint::OpenAiModel)
        );
        assert_eq!(
            find("GET", "/v1/models"),
            Match::Found(Endpoint::OpenAiModels)
        );
        assert_eq!(
            find("POST", "/v1/models/base"),
            Match::MethodNotAllowed(vec!["GET"])
        );
        for (path, model) in [
            ("/v1/models/tiny.en", "tiny.en"),
            (
                "/v1/models/Systran/faster-whisper-tiny.en",
                "Systran/faster-whisper-tiny.en",
            ),
            (
                "/v1/models/Systran%2Ffaster-whisper-base",
                "Systran/faster-whisper-base",
            ),
        ] {
            assert_eq!(
                path_param(OPENAI_MODEL_PATH, path).as_deref(),
                Some(model),
                "{path}"
            );
        }
        assert_eq!(path_param(OPENAI_MODEL_PATH, "/v1/models/"), None);
        assert_eq!(path_param("/v1/models", "/v1/models/x"), None);
    }

    #[test]
    fn openapi_document_matches_route_table() {
        let doc: serde_json::Value =
            serde_json::from_str(OPENAPI_JSON).expect("docs/openapi.json is valid JSON");
        assert_eq!(
            doc["openapi"].as_str().map(|v| v.starts_with("3.1")),
            Some(true)
        );
        const METHODS: &[&str] = &[
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ];
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("path item")
                    .keys()
                    .filter(|k| METHODS.contains(&k.as_str()))
                    .map(move |m| (m.to_ascii_uppercase(), path.clone()))
            })
            .collect();
        let routed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        assert_eq!(
            routed.difference(&documented).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "routed but not documented"
        );
        assert_eq!(
            documented.difference(&routed).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "documented but not routed"
        );
    }

    #[test]
    fn openapi_error_codes_match_the_error_code_enum() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        let documented: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .expect("components.schemas.ErrorCode.enum")
            .iter()
            .map(|c| c.as_str().expect("a code is a string"))
            .collect();
        let defined: Vec<&str> = crate::ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(documented, defined, "docs/openapi.json's ErrorCode enum");
    }

    #[test]
    fn every_operation_documents_its_errors() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method.to_ascii_lowercase()];
            assert!(
                op["summary"].is_string(),
                "{} {} has no summary",
                r.method,
                r.path
            );
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{} {} has no success response",
                r.method,
                r.path
            );
        }
    }
}
