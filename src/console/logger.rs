//! The `log` backend: formats each record with the uptime and level, and writes it to both
//! consoles.
//!
//! Writing one 100-character line to a 115200-baud UART takes about 9 ms. Holding interrupts
//! off that long would lose timer ticks, so a thread writes with interrupts ON. An interrupt
//! handler (or any code running with interrupts off) must never wait for the consoles: the
//! thread holding them may be the one it interrupted. It writes directly if the consoles are
//! free, and otherwise leaves its line in [`DEFERRED`] for the holder to write before it lets go.
//!
//! ```text
//!   thread, interrupts on:   lock consoles ──> write line ──> write DEFERRED ──> unlock
//!                                  ^ an IRQ arrives here and logs:
//!   handler, interrupts off: try_lock consoles ── busy ──> append its line to DEFERRED
//! ```

use super::line_buffer::LineBuffer;
use super::serial::{self, Serial};
use super::vga::{COLUMNS, Colour, ROWS, TextScreen, attribute};
use core::fmt::{self, Write};
use log::{Level, LevelFilter, Log, Metadata, Record};
use spin::{Mutex, Once};
use x86_64::instructions::interrupts::{self, without_interrupts};

/// Physical (and, identity-mapped, virtual) address of the VGA text buffer.
const VGA_TEXT_BUFFER: usize = 0xb8000;

struct Consoles {
    serial: Option<Serial>,
    screen: TextScreen<'static>,
}

impl Consoles {
    fn write_str(&mut self, text: &str) {
        if let Some(serial) = self.serial.as_mut() {
            let _ = serial.write_str(text);
        }
        self.screen.write_str(text);
    }
}

impl Write for Consoles {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        Consoles::write_str(self, text);
        Ok(())
    }
}

static CONSOLES: Once<Mutex<Consoles>> = Once::new();

/// Room for the lines logged with interrupts off while a thread held the consoles.
const DEFERRED_BYTES: usize = 1024;

/// Lines waiting for the consoles. Only ever locked with interrupts off, for a copy.
static DEFERRED: Mutex<LineBuffer<DEFERRED_BYTES>> = Mutex::new(LineBuffer::new());
static CLOCK: Once<fn() -> u64> = Once::new();
static LOGGER: KernelLogger = KernelLogger;

/// Sets up both consoles and installs the logger. The first thing kmain does.
pub fn init() {
    CONSOLES.call_once(|| {
        // SAFETY: 0xb8000..+4000 is the VGA text buffer, identity-mapped by the page
        // tables; this is the only reference ever made to it.
        let cells =
            unsafe { core::slice::from_raw_parts_mut(VGA_TEXT_BUFFER as *mut u16, COLUMNS * ROWS) };
        let mut screen = TextScreen::new(cells);
        for _ in 0..ROWS {
            screen.write_byte(b'\n');
        }
        Mutex::new(Consoles {
            serial: serial::init(),
            screen,
        })
    });
    // set_logger fails only if called twice; the second call changes nothing.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(LevelFilter::Info);
}

/// Gives log lines a timestamp: `clock` returns milliseconds since boot (see src/time).
pub fn set_clock(clock: fn() -> u64) {
    CLOCK.call_once(|| clock);
}

/// Runs `body` on the consoles. See the module comment for the locking rule.
fn with_consoles(body: impl FnOnce(&mut dyn Write)) {
    let Some(consoles) = CONSOLES.get() else {
        return;
    };
    if interrupts::are_enabled() {
        // A thread: waiting is allowed (the holder runs again at a timer tick at the latest).
        let mut guard = consoles.lock();
        body(&mut *guard);
        write_deferred(&mut guard);
    } else if let Some(mut guard) = consoles.try_lock() {
        body(&mut *guard);
        write_deferred(&mut guard);
    } else {
        let mut line = LineBuffer::<DEFERRED_BYTES>::new();
        body(&mut line);
        DEFERRED.lock().push_line(line.as_bytes());
        return;
    }
    // A line deferred between our last look and the unlock is written by whoever can.
    while !without_interrupts(|| DEFERRED.lock().is_empty()) {
        match consoles.try_lock() {
            Some(mut guard) => write_deferred(&mut guard),
            None => break,
        }
    }
}

/// Writes out the deferred lines; the caller holds the consoles.
fn write_deferred(consoles: &mut Consoles) {
    let mut lines = LineBuffer::<DEFERRED_BYTES>::new();
    loop {
        // try_lock: DEFERRED is only held with interrupts off, for a copy, so it is busy here
        // only in a fatal report that interrupted that copy; the report matters more.
        let Some(dropped) =
            without_interrupts(|| DEFERRED.try_lock().map(|mut d| d.take(&mut lines)))
        else {
            return;
        };
        if lines.as_bytes().is_empty() && dropped == 0 {
            return;
        }
        // Whole lines of formatted UTF-8 text went in, so they come out as valid UTF-8.
        consoles.write_str(core::str::from_utf8(lines.as_bytes()).unwrap_or("?\n"));
        if dropped > 0 {
            let _ = writeln!(
                consoles,
                "[log: {dropped} lines from interrupt handlers lost]"
            );
        }
    }
}

/// Prints without a header (the `kprint!` macro).
pub fn print_fmt(args: fmt::Arguments) {
    with_consoles(|consoles| {
        let _ = consoles.write_fmt(args);
    });
}

/// For the panic and exception reports: the CPU is about to stop, so whoever held the
/// console lock will never release it. Break it, switch the screen to white on red, and
/// let the caller print.
pub fn take_over_for_fatal() {
    if let Some(consoles) = CONSOLES.get() {
        // SAFETY: interrupts are off and the kernel never resumes after a fatal report, so
        // the holder of the lock (if any) will not touch the consoles again.
        unsafe { consoles.force_unlock() };
        consoles
            .lock()
            .screen
            .set_attribute(attribute(Colour::White, Colour::Red));
    }
}

struct KernelLogger;

impl Log for KernelLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let millis = CLOCK.get().map_or(0, |clock| clock());
        let level = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        with_consoles(|consoles| {
            let _ = writeln!(
                consoles,
                "[{:>5}.{:03}] {level} {}",
                millis / 1000,
                millis % 1000,
                record.args()
            );
        });
    }

    fn flush(&self) {}
}
