//! COM1, the first 16550 UART, at I/O port 0x3f8. QEMU's `-serial stdio` shows it in the
//! terminal; the tests read the kernel's log from it. The uart_16550 crate programs the chip
//! (115200 baud, 8N1, FIFOs on) and tests it with a loopback before use.

use uart_16550::backend::PioBackend;
use uart_16550::{Config, Uart16550Tty};

const COM1: u16 = 0x3f8;

pub type Serial = Uart16550Tty<PioBackend>;

/// Initialises COM1; `None` if there is no working UART (some PCs have no serial port).
pub fn init() -> Option<Serial> {
    // SAFETY: COM1's eight registers at 0x3f8..0x400 belong to the UART on every PC; this is
    // the only place that creates a driver for them.
    unsafe { Uart16550Tty::new_port(COM1, Config::default()).ok() }
}
