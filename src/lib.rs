//! micro-kernel: every layer of the kernel, bottom to top.
//!
//! Each module uses only the modules listed above it:
//!
//! | layer | module |
//! |---|---|
//! | CPU access: segments, IDT, trap entry, PIC, port I/O | [`cpu`] |
//! | consoles and the `log` backend | [`console`] |
//! | what the boot loader told us | [`boot`] |
//! | physical frames, page tables, heap, DMA buffers, kernel stacks | [`memory`] |
//! | interrupt dispatch, exceptions, the timer | [`interrupts`], [`time`] |
//! | threads, the scheduler, blocking primitives | [`sched`], [`sync`] |
//! | the PCI bus: finding devices | [`pci`] |
//! | device drivers (the RTL8139 NIC) | [`drivers`] |
//! | the TCP/IP stack and blocking sockets | [`net`] |
//! | the HTTP server, its JSON API and the dashboard | [`http`] |
//! | in-kernel self-tests | [`ktest`] |
//!
//! [`inline_name`] is plain data that any layer may use: a short name stored without the heap.
//! So is [`trace`]: the request trace (`trace=request`), a step counter each layer reads to
//! log its own part of one request.
//!
//! The kernel proper only builds for `x86_64-unknown-none` (`target_os = "none"`). The pure
//! logic inside the layers (parsers, bookkeeping) also builds for the host, where
//! `cargo test` runs its unit tests.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod boot;
pub mod console;
pub mod cpu;
pub mod drivers;
pub mod http;
pub mod inline_name;
pub mod interrupts;
pub mod ktest;
pub mod memory;
pub mod net;
pub mod pci;
pub mod sched;
pub mod sync;
pub mod time;
pub mod trace;

#[cfg(target_os = "none")]
pub mod fatal;

/// The unit checks of one exercise of the walkthrough, copied here by `make exercise`
/// (tests/exercises/kit.py) and built only with `--cfg exercise_check`. rustfmt resolves
/// out-of-line modules whatever their cfg, and the file exists only during a check: it is
/// told to leave this one alone, or `cargo fmt --check` fails on every tree.
#[cfg(all(test, exercise_check))]
#[rustfmt::skip]
mod exercise_check;

/// `alloc::format!`, reachable from macros exported by this crate.
#[doc(hidden)]
pub use alloc::format as alloc_format;
