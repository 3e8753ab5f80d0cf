//! Memory management.

#[cfg(target_os = "none")]
pub mod dma;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
pub mod stack;
