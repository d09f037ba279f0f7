//! Spin HTTP plumbing shared by Vox's components: replies, error bodies, bounded body reads.

pub mod body;
pub mod reply;

pub use reply::{Reply, Result};
