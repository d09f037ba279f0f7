//! The router: request ids, CORS, authentication, then dispatch by the shared route table; an
//! early error reads the rest of the upload before it goes out.

use vox_api::limits::MAX_MULTIPART_BYTES;
use vox_api::routes::{Endpoint, Match};
use vox_api::{ApiError, ErrorStyle, request_id};
use vox_http_kit::header;
use vox_http_kit::reply::{self, Reply};
use vox_http_kit::upload::{self, Request};

use crate::upstream::Ctx;
use crate::{auth, cors, e2e, native, openai, page};

pub async fn handle(req: spin_sdk::http::Request) -> Reply {
    let (req, upload) = upload::split(req);
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let style = ErrorStyle::for_path(&path);
    let ctx = Ctx {
        request_id: request_id::accept(header(&req, request_id::HEADER))
            .unwrap_or_else(request_id::generate),
    };
    let origin = header(&req, "origin").map(str::to_string);
    let allowed_origin = cors::allowed_origin(origin.as_deref()).await;

    let mut resp = if method == "OPTIONS" {
        cors::preflight(&path)
    } else {
        match auth::check(&method, &path, header(&req, "authorization")).await {
            Err(e) => reply::error(&e, style),
            Ok(()) => dispatch(req, &method, &path, &ctx)
                .await
                .unwrap_or_else(|e| reply::error(&e, style)),
        }
    };
    // An error answered before the upload was read: read the rest first, so the client sees
    // the error rather than a reset connection (vox_http_kit::upload). Not past a size limit,
    // which is what a 413 refused.
    let status = resp.status();
    if (status.is_client_error() || status.is_server_error())
        && status != http::StatusCode::PAYLOAD_TOO_LARGE
    {
        upload.drain(MAX_MULTIPART_BYTES).await;
    }
    reply::set_header(&mut resp, request_id::HEADER, &ctx.request_id);
    cors::decorate(&mut resp, allowed_origin.as_deref());
    resp
}

async fn dispatch(req: Request, method: &str, path: &str, ctx: &Ctx) -> reply::Result {
    let endpoint = match vox_api::routes::find(method, path) {
        Match::Found(e) => e,
        Match::MethodNotAllowed(allowed) => {
            let mut resp = reply::error(
                &ApiError::method_not_allowed(method, path, &allowed),
                ErrorStyle::for_path(path),
            );
            reply::set_header(&mut resp, "allow", &allowed.join(", "));
            return Ok(resp);
        }
        Match::NotFound => return Err(ApiError::not_found(method, path)),
    };
    match endpoint {
        Endpoint::Health => Ok(native::health()),
        Endpoint::Ready => Ok(native::ready(ctx).await),
        Endpoint::OpenApi => Ok(reply::full(
            200,
            "application/json",
            vox_api::routes::OPENAPI_JSON,
        )),
        Endpoint::Asr => native::asr(req, ctx).await,
        Endpoint::Tts => native::tts(req, ctx).await,
        Endpoint::E2e => e2e::handle(req, ctx).await,
        Endpoint::Voices => native::voices(ctx).await,
        Endpoint::Models => native::models(ctx).await,
        Endpoint::Transcriptions => {
            openai::transcriptions(req, ctx, vox_api::transcript::Task::Transcribe).await
        }
        Endpoint::Translations => {
            openai::transcriptions(req, ctx, vox_api::transcript::Task::Translate).await
        }
        Endpoint::Speech => openai::speech(req, ctx).await,
        Endpoint::OpenAiModels => openai::models(ctx).await,
        Endpoint::OpenAiModel => openai::model(path, ctx).await,
        Endpoint::Page(file) => Ok(page::serve(file)),
    }
}
