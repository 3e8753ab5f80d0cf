//! The `log` backend: formats each record with the uptime and level into a line on the stack,
//! and hands it whole to the output queue (src/console/output.rs), which gets it to both
//! consoles without making the caller wait where it must not.

use super::line_buffer::LineBuffer;
use super::output::{self, MAX_LINE};
use super::screen::{ScreenInfo, Style};
use core::fmt::{self, Write};
use log::{Level, LevelFilter, Log, Metadata, Record};
use spin::Once;

static CLOCK: Once<fn() -> u64> = Once::new();
static LOGGER: KernelLogger = KernelLogger;

/// Sets up both consoles (COM1, and the screen the boot loader reported) and installs the
/// logger. The first thing kmain does.
pub fn init(screen: ScreenInfo) {
    let consoles = output::init(screen);
    // set_logger fails only if called twice; the second call changes nothing.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(LevelFilter::Info);
    let guard = consoles.lock();
    let (has_serial, grid) = (guard.has_serial(), guard.text_grid());
    drop(guard);
    let serial = if has_serial {
        "COM1"
    } else {
        "no UART at COM1"
    };
    match (screen, grid) {
        (ScreenInfo::VgaText { address }, _) => {
            log::info!("console: {serial}, VGA text mode at {address:#x} (80 x 25)")
        }
        (ScreenInfo::Framebuffer(fb), Some((columns, rows, glyph_width, glyph_height))) => {
            log::info!(
                "console: {serial}, framebuffer {}x{} at {:#x}, {} bits per pixel: {columns} x {rows} \
                 cells of {glyph_width}x{glyph_height}, the first line at pixel (0, 0)",
                fb.width,
                fb.height,
                fb.address,
                fb.bits_per_pixel
            )
        }
        (ScreenInfo::Framebuffer(fb), None) => log::info!(
            "console: {serial}; framebuffer at {:#x} lies above the boot page tables: drawn once memory is set up",
            fb.address
        ),
        (ScreenInfo::None, _) => {
            log::warn!("console: {serial} only: the boot loader reported no screen")
        }
        (ScreenInfo::Unsupported(why), _) => {
            log::warn!(
                "console: {serial} only: the screen is {why}, which this kernel cannot draw on"
            )
        }
    }
}

/// Starts drawing on a framebuffer that the boot page tables did not reach (memory::init
/// calls this once its page tables map it).
pub fn screen_mapped() {
    if output::with_consoles(|consoles| consoles.screen_mapped()) == Some(true) {
        log::info!("console: the framebuffer is mapped: the screen shows the log from here on");
    }
}

/// Gives log lines a timestamp: `clock` returns milliseconds since boot (see src/time).
pub fn set_clock(clock: fn() -> u64) {
    CLOCK.call_once(|| clock);
}

/// Prints without a header (the `kprint!` macro).
pub fn print_fmt(args: fmt::Arguments) {
    let mut text = LineBuffer::<MAX_LINE>::new();
    let _ = text.write_fmt(args);
    output::submit(Style::Normal, text.as_bytes());
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
        let (level, style) = match record.level() {
            Level::Error => ("ERROR", Style::Error),
            Level::Warn => ("WARN ", Style::Warning),
            Level::Info => ("INFO ", Style::Normal),
            Level::Debug => ("DEBUG", Style::Debug),
            Level::Trace => ("TRACE", Style::Debug),
        };
        let mut line = LineBuffer::<MAX_LINE>::new();
        let _ = writeln!(
            line,
            "[{:>5}.{:03}] {level} {}",
            millis / 1000,
            millis % 1000,
            record.args()
        );
        line.end_line();
        output::submit(style, line.as_bytes());
    }

    fn flush(&self) {}
}
