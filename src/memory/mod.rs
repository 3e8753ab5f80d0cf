//! Memory management.

#[cfg(target_os = "none")]
pub mod heap;
