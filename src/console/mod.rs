//! The consoles: COM1 serial and the screen (VGA text mode under a BIOS, a framebuffer under
//! UEFI: whichever the boot loader reports), written together, behind the `log` facade.
//! Every `log::info!` in the kernel ends up here.
//!
//! | file | what |
//! |---|---|
//! | logger.rs | the `log` backend: formats a line, queues it |
//! | output.rs, line_ring.rs | the queue of lines and who writes it out, when (no waiting with interrupts off) |
//! | writer_thread.rs | the console thread that writes once the scheduler runs |
//! | consoles.rs, serial.rs | the devices: COM1 and the screen |
//! | screen.rs | which screen the boot loader reported; colours per kind of line |
//! | vga.rs | VGA text mode |
//! | framebuffer.rs, font.rs | the framebuffer console and its bitmap font |
//!
//! Locking rule: nobody waits for the devices. A logger queues its line (a short copy with
//! interrupts off) and the writer writes it out: the boot thread before the scheduler runs,
//! then the console thread. The fatal path (panic, exception) breaks the locks instead.

pub mod font;
pub mod framebuffer;
pub mod line_buffer;
pub mod line_ring;
pub mod screen;
pub mod vga;

#[cfg(target_os = "none")]
mod consoles;
#[cfg(target_os = "none")]
mod logger;
#[cfg(target_os = "none")]
mod output;
#[cfg(target_os = "none")]
mod serial;
#[cfg(target_os = "none")]
mod writer_thread;

#[cfg(target_os = "none")]
pub use logger::{init, print_fmt, screen_mapped, set_clock};
#[cfg(target_os = "none")]
pub use output::{flush, screen_memory, take_over_for_fatal};
#[cfg(target_os = "none")]
pub use writer_thread::start_writer_thread;

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
