//! Optional API key: `Authorization: Bearer <api_key>` when the `api_key` variable is set.

use vox_api::ApiError;

pub async fn check(method: &str, path: &str, authorization: Option<&str>) -> Result<(), ApiError> {
    if vox_api::auth::is_public(method, path) {
        return Ok(());
    }
    // An undeclared or unreadable variable means no key is configured.
    let key = spin_sdk::variables::get("api_key")
        .await
        .unwrap_or_default();
    vox_api::auth::check(key.trim(), authorization)
}
