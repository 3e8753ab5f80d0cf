//! Exercise 1.2: on a screen wider than 2560 pixels the framebuffer console draws each glyph
//! twice as wide and twice as high, every font pixel a 2x2 block; narrower screens keep 8x16.

use crate::console::font::{CONSOLE_FONT_FILE, Font};
use crate::console::framebuffer::{Cell, ColourField, FramebufferConsole, FramebufferInfo};
use crate::console::framebuffer::{MAX_COLUMNS, MAX_ROWS};

/// 32-bit pixels, blue in the low byte, as QEMU's standard VGA under OVMF.
fn info(width: u32, height: u32) -> FramebufferInfo {
    FramebufferInfo {
        address: 0x8000_0000,
        pitch: width * 4,
        width,
        height,
        bits_per_pixel: 32,
        red: ColourField { position: 16, size: 8 },
        green: ColourField { position: 8, size: 8 },
        blue: ColourField { position: 0, size: 8 },
    }
}

/// What a console over a `width` x `height` screen shows after writing `text`: its pixels,
/// its grid, and the origin of cell (1, 1).
fn draw(width: u32, height: u32, text: &str) -> (Vec<u8>, (usize, usize), (usize, usize)) {
    let info = info(width, height);
    let mut pixels = vec![0x55u8; info.byte_len() as usize];
    let mut cells = vec![Cell::default(); MAX_COLUMNS * MAX_ROWS];
    let font = Font::parse(CONSOLE_FONT_FILE).unwrap();
    // SAFETY: the Vec holds byte_len() bytes and outlives the console.
    let mut console = unsafe { FramebufferConsole::new(pixels.as_mut_ptr(), info, font, &mut cells) };
    console.write_str(text);
    let grid = (console.columns(), console.rows());
    let origin = console.cell_origin(1, 1);
    drop(console);
    (pixels, grid, origin)
}

fn lit(pixels: &[u8], width: u32, x: usize, y: usize) -> bool {
    let at = (y * width as usize + x) * 4;
    u32::from_le_bytes(pixels[at..at + 4].try_into().unwrap()) != 0
}

#[test]
fn a_4k_screen_draws_each_font_pixel_as_a_2x2_block() {
    let (width, height) = (3840, 2160);
    let (pixels, grid, origin) = draw(width, height, "A");
    assert_eq!(origin, (16, 32), "cell (1, 1) of a 16x32 grid starts at pixel (16, 32)");
    assert_eq!(grid, ((3840 / 16).min(MAX_COLUMNS), (2160 / 32).min(MAX_ROWS)), "columns and rows of 16x32 cells");
    let font = Font::parse(CONSOLE_FONT_FILE).unwrap();
    let glyph = font.glyph_for('A');
    for y in 0..font.height() {
        for x in 0..8 {
            let ink = font.row(glyph, y) & (0x80 >> x) != 0;
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                assert_eq!(
                    lit(&pixels, width, 2 * x + dx, 2 * y + dy),
                    ink,
                    "font pixel ({x}, {y}) of 'A' should cover screen pixels ({}..={}, {}..={})",
                    2 * x,
                    2 * x + 1,
                    2 * y,
                    2 * y + 1
                );
            }
        }
    }
}

#[test]
fn a_2560_pixel_screen_keeps_8x16_cells() {
    let (pixels, grid, origin) = draw(2560, 1440, "A");
    assert_eq!(origin, (8, 16));
    assert_eq!(grid, ((2560 / 8).min(MAX_COLUMNS), (1440 / 16).min(MAX_ROWS)));
    let font = Font::parse(CONSOLE_FONT_FILE).unwrap();
    let glyph = font.glyph_for('A');
    for y in 0..font.height() {
        for x in 0..8 {
            assert_eq!(lit(&pixels, 2560, x, y), font.row(glyph, y) & (0x80 >> x) != 0);
        }
    }
}
