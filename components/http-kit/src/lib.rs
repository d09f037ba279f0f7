//! Spin HTTP plumbing shared by Vox's components: replies, error bodies, bounded bodies, headers.

pub mod body;
pub mod client;
pub mod reply;
pub mod request;
pub mod upload;

pub use reply::{Reply, Result};
pub use request::header;
