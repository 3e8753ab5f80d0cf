//! The consoles: COM1 serial and the VGA text screen, written together, behind the `log`
//! facade. Every `log::info!` in the kernel ends up here.
//!
//! Locking rule: the consoles sit behind one spin lock that is only ever taken with
//! interrupts disabled, so an interrupt handler that logs cannot deadlock against the thread
//! it interrupted. The fatal path (panic, exception) breaks the lock instead of waiting.

#[cfg(target_os = "none")]
mod logger;
#[cfg(target_os = "none")]
mod serial;
pub mod vga;

#[cfg(target_os = "none")]
pub use logger::{init, print_fmt, set_clock, take_over_for_fatal};

/// Prints to both consoles without a log header, like `print!`.
#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => { $crate::console::print_fmt(format_args!($($arg)*)) };
}

/// `kprint!` plus a newline.
#[macro_export]
macro_rules! kprintln {
    () => { $crate::kprint!("\n") };
    ($($arg:tt)*) => { $crate::console::print_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}
