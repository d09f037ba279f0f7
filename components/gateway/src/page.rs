//! The browser page at `/` and its assets, embedded in the component at build time.

use vox_api::routes::PageFile;
use vox_http_kit::reply::{self, Reply};

/// What the page may load and reach: only this origin (the API), plus the `blob:` URLs it
/// makes for recordings and dropped files.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The file's bytes and content type.
fn file(which: PageFile) -> (&'static str, &'static str) {
    match which {
        PageFile::Html => (
            include_str!("../page/index.html"),
            "text/html; charset=utf-8",
        ),
        PageFile::Script => (
            include_str!("../page/app.js"),
            "text/javascript; charset=utf-8",
        ),
        PageFile::Style => (include_str!("../page/app.css"), "text/css; charset=utf-8"),
        PageFile::CaptureWorklet => (
            include_str!("../page/capture-worklet.js"),
            "text/javascript; charset=utf-8",
        ),
    }
}

pub fn serve(which: PageFile) -> Reply {
    let (body, content_type) = file(which);
    let mut resp = reply::full(200, content_type, body);
    // Revalidate on every load so an upgraded gateway serves its own page.
    reply::set_header(&mut resp, "cache-control", "no-cache");
    reply::set_header(&mut resp, "x-content-type-options", "nosniff");
    if which == PageFile::Html {
        reply::set_header(
            &mut resp,
            "content-security-policy",
            CONTENT_SECURITY_POLICY,
        );
        reply::set_header(&mut resp, "referrer-policy", "no-referrer");
    }
    resp
}
