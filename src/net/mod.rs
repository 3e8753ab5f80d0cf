//! The network stack: smoltcp over the RTL8139.
pub mod stack;
