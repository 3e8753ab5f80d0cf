//! The console devices: COM1 and the screen (VGA text or framebuffer, whichever the boot
//! loader reported: src/console/screen.rs). Only the console writer touches them (the boot
//! thread before the scheduler runs, then the console thread, and the fatal report), through
//! the lock in src/console/output.rs.

use super::font::{CONSOLE_FONT_FILE, Font, GLYPH_WIDTH};
use super::framebuffer::{Cell, FramebufferConsole, FramebufferInfo, MAX_COLUMNS, MAX_ROWS};
use super::screen::{FATAL_ATTRIBUTE, ScreenInfo, Style};
use super::serial::{self, Serial};
use super::vga::{COLUMNS, ROWS, TextScreen};
use core::fmt::Write;

/// What the boot page tables map (arch/x86_64/boot32.S): a screen above this is drawn only
/// once memory::init has mapped it.
const BOOT_MAPPED_END: u64 = 4 << 30;

// The framebuffer variant is large (the console's state, the cells live apart), but there is
// exactly one Screen, in a static: boxing it would need the heap, which does not exist yet.
#[allow(clippy::large_enum_variant)]
enum Screen {
    None,
    Text(TextScreen<'static>),
    Pixels(FramebufferConsole<'static>),
    /// A framebuffer the boot page tables do not reach, waiting for [`Consoles::screen_mapped`].
    Unmapped(FramebufferInfo),
}

pub struct Consoles {
    serial: Option<Serial>,
    screen: Screen,
    /// Set by the fatal report: every line from then on is white on red.
    fatal: bool,
}

/// The framebuffer console's cells; used by the one Consoles the kernel makes.
static mut FRAMEBUFFER_CELLS: [Cell; MAX_COLUMNS * MAX_ROWS] = [Cell {
    glyph: 0,
    attribute: 0,
}; MAX_COLUMNS * MAX_ROWS];

impl Consoles {
    /// COM1 (if a UART answers there) and the screen `screen` describes. Call once.
    pub fn new(screen: ScreenInfo) -> Consoles {
        let screen = match screen {
            ScreenInfo::VgaText { address } => {
                // SAFETY: the boot loader reports VGA text memory at `address` (below 1 MiB,
                // identity-mapped); this is the only reference ever made to it.
                let cells =
                    unsafe { core::slice::from_raw_parts_mut(address as *mut u16, COLUMNS * ROWS) };
                let mut text = TextScreen::new(cells);
                for _ in 0..ROWS {
                    text.write_byte(b'\n');
                }
                Screen::Text(text)
            }
            ScreenInfo::Framebuffer(info) if info.address + info.byte_len() <= BOOT_MAPPED_END => {
                Screen::Pixels(framebuffer_console(info))
            }
            ScreenInfo::Framebuffer(info) => Screen::Unmapped(info),
            ScreenInfo::None | ScreenInfo::Unsupported(_) => Screen::None,
        };
        Consoles {
            serial: serial::init(),
            screen,
            fatal: false,
        }
    }

    /// Starts drawing on a framebuffer that lay beyond the boot page tables, now that the
    /// kernel's own tables map it. Returns whether there was one.
    pub fn screen_mapped(&mut self) -> bool {
        if let Screen::Unmapped(info) = self.screen {
            self.screen = Screen::Pixels(framebuffer_console(info));
            return true;
        }
        false
    }

    pub fn has_serial(&self) -> bool {
        self.serial.is_some()
    }

    /// The framebuffer console's grid and glyph size, if it is the screen in use.
    pub fn text_grid(&self) -> Option<(usize, usize, usize, usize)> {
        match &self.screen {
            Screen::Pixels(console) => {
                let (_, glyph_height) = console.cell_origin(0, 1);
                Some((console.columns(), console.rows(), GLYPH_WIDTH, glyph_height))
            }
            _ => None,
        }
    }

    /// Writes `text` to both consoles, on screen in the colours of `style`.
    pub fn write(&mut self, text: &str, style: Style) {
        if let Some(serial) = self.serial.as_mut() {
            let _ = serial.write_str(text);
        }
        let attribute = if self.fatal {
            FATAL_ATTRIBUTE
        } else {
            style.attribute()
        };
        match &mut self.screen {
            Screen::Text(screen) => {
                screen.set_attribute(attribute);
                screen.write_str(text);
            }
            Screen::Pixels(console) => {
                console.set_attribute(attribute);
                console.write_str(text);
            }
            Screen::None | Screen::Unmapped(_) => {}
        }
    }

    /// From now on everything is written white on red.
    pub fn enter_fatal(&mut self) {
        self.fatal = true;
    }
}

fn framebuffer_console(info: FramebufferInfo) -> FramebufferConsole<'static> {
    let font = Font::parse(CONSOLE_FONT_FILE).expect("the embedded font is a PSF1 file");
    // SAFETY: Consoles::new runs once (console::init), so this is the only reference to the
    // cells.
    let cells = unsafe {
        core::slice::from_raw_parts_mut(
            (&raw mut FRAMEBUFFER_CELLS).cast::<Cell>(),
            MAX_COLUMNS * MAX_ROWS,
        )
    };
    // SAFETY: the boot loader set up the framebuffer at info.address, byte_len() bytes long,
    // and gave it to the kernel; it is identity-mapped (by the boot page tables below 4 GiB,
    // by memory::init anywhere) and nothing else writes it.
    unsafe { FramebufferConsole::new(info.address as *mut u8, info, font, cells) }
}
