//! The consoles: COM1 serial and the VGA text screen, written together, behind the `log`
//! facade. Every `log::info!` in the kernel ends up here.
//!
//! Locking rule: a thread writes to the consoles with interrupts on (a slow UART must not
//! cost timer ticks); code running with interrupts off never waits for them, it leaves its
//! line for the holder to write (src/console/logger.rs). The fatal path (panic, exception)
//! breaks the lock instead of waiting.

pub mod line_buffer;
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
