//! The framebuffer console: text drawn pixel by pixel into the linear framebuffer the boot
//! loader set up (multiboot2 spec 3.6.12, framebuffer info; under UEFI it is the one the
//! firmware's Graphics Output Protocol chose). There is no text mode under UEFI, so this is
//! how the log reaches the screen there.
//!
//! The screen is a grid of cells, one glyph of the font ([`Font`], 8x16 pixels) each. The grid
//! is also kept in RAM ([`Cell`]s): scrolling then never reads the framebuffer (reads from
//! write-combining or uncached memory are slow on real hardware), it moves the cells in RAM
//! and redraws only the cells whose glyph or colour changed. Text starts at the top-left cell
//! and scrolls up one row when the bottom row is full, like a terminal.
//!
//! The pure logic works on any byte buffer: the unit tests draw into a `Vec`.

use super::font::{Font, GLYPH_WIDTH};
use super::vga::{Colour, attribute};

/// Where a colour component sits in a pixel (multiboot2 spec 3.6.12, RGB framebuffers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColourField {
    /// Bit position of the component's least significant bit.
    pub position: u8,
    /// Number of bits.
    pub size: u8,
}

/// What the boot loader says about a direct-colour framebuffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramebufferInfo {
    /// Physical address of the first pixel.
    pub address: u64,
    /// Bytes from one pixel row to the next.
    pub pitch: u32,
    pub width: u32,
    pub height: u32,
    pub bits_per_pixel: u8,
    pub red: ColourField,
    pub green: ColourField,
    pub blue: ColourField,
}

impl FramebufferInfo {
    /// Bytes the framebuffer spans.
    pub fn byte_len(&self) -> u64 {
        u64::from(self.pitch) * u64::from(self.height)
    }

    fn bytes_per_pixel(&self) -> usize {
        usize::from(self.bits_per_pixel) / 8
    }

    /// Why this kernel cannot draw on it, if it cannot: it writes 16, 24 or 32-bit pixels
    /// whose colour fields fit in the pixel.
    pub fn check(&self) -> Result<(), &'static str> {
        if !matches!(self.bits_per_pixel, 16 | 24 | 32) {
            return Err("pixels are not 16, 24 or 32 bits");
        }
        if u64::from(self.pitch) < u64::from(self.width) * self.bytes_per_pixel() as u64 {
            return Err("the pitch is shorter than a row of pixels");
        }
        let aligned = self.bytes_per_pixel().min(4) as u64;
        if self.bits_per_pixel != 24
            && (!self.address.is_multiple_of(aligned)
                || !u64::from(self.pitch).is_multiple_of(aligned))
        {
            return Err("pixels are not aligned to their size");
        }
        for field in [self.red, self.green, self.blue] {
            if field.size == 0
                || field.size > 8
                || field.position + field.size > self.bits_per_pixel
            {
                return Err("a colour field lies outside the pixel");
            }
        }
        if self.width < GLYPH_WIDTH as u32 || self.height < 16 {
            return Err("too small for one character");
        }
        Ok(())
    }

    /// The pixel value for an 8-bit-per-component colour: each component cut to its field's
    /// size and shifted to its position.
    pub fn pack(&self, [red, green, blue]: [u8; 3]) -> u32 {
        let component = |value: u8, field: ColourField| {
            (u32::from(value) >> (8 - field.size)) << field.position
        };
        component(red, self.red) | component(green, self.green) | component(blue, self.blue)
    }
}

/// One character cell as the screen shows it: a glyph and a VGA attribute (the same
/// foreground/background colour byte as text mode, src/console/vga.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cell {
    pub glyph: u16,
    pub attribute: u8,
}

/// The most text cells kept: 240 x 90 cells of 8x16 fill 1920x1440. A larger screen shows
/// its text in the top-left 1920x1440 pixels.
pub const MAX_COLUMNS: usize = 240;
pub const MAX_ROWS: usize = 90;

pub struct FramebufferConsole<'a> {
    pixels: *mut u8,
    info: FramebufferInfo,
    font: Font<'a>,
    cells: &'a mut [Cell],
    columns: usize,
    rows: usize,
    column: usize,
    row: usize,
    attribute: u8,
    /// The 16 attribute colours as pixel values.
    palette: [u32; 16],
}

impl<'a> FramebufferConsole<'a> {
    /// A console over the framebuffer at `pixels` (checked with [`FramebufferInfo::check`]);
    /// clears the screen to black. `cells` needs room for the grid: at most
    /// MAX_COLUMNS x MAX_ROWS, fewer on a smaller screen.
    ///
    /// # Safety
    /// `pixels` must point to `info.byte_len()` bytes that nothing else writes, mapped
    /// writable for as long as the console is used.
    pub unsafe fn new(
        pixels: *mut u8,
        info: FramebufferInfo,
        font: Font<'a>,
        cells: &'a mut [Cell],
    ) -> Self {
        let columns = (info.width as usize / GLYPH_WIDTH).min(MAX_COLUMNS);
        let rows = (info.height as usize / font.height()).min(MAX_ROWS);
        assert!(cells.len() >= columns * rows, "too few cells for the grid");
        let palette = core::array::from_fn(|index| info.pack(Colour::ALL[index].rgb()));
        let mut console = FramebufferConsole {
            pixels,
            info,
            font,
            cells,
            columns,
            rows,
            column: 0,
            row: 0,
            attribute: attribute(Colour::LightGrey, Colour::Black),
            palette,
        };
        console.clear();
        console
    }

    pub fn columns(&self) -> usize {
        self.columns
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The pixel at the top-left corner of cell (`column`, `row`).
    pub fn cell_origin(&self, column: usize, row: usize) -> (usize, usize) {
        (column * GLYPH_WIDTH, row * self.font.height())
    }

    pub fn set_attribute(&mut self, attribute: u8) {
        self.attribute = attribute;
    }

    pub fn write_str(&mut self, text: &str) {
        for ch in text.chars() {
            match ch {
                '\n' => self.new_line(),
                '\r' => self.column = 0,
                ch => {
                    if self.column == self.columns {
                        self.new_line();
                    }
                    let cell = Cell {
                        glyph: self.font.glyph_for(ch) as u16,
                        attribute: self.attribute,
                    };
                    self.put(self.column, self.row, cell);
                    self.column += 1;
                }
            }
        }
    }

    fn blank(&self) -> Cell {
        Cell {
            glyph: self.font.glyph_for(' ') as u16,
            attribute: self.attribute,
        }
    }

    /// Paints the whole framebuffer black and fills the grid with blanks.
    fn clear(&mut self) {
        let black = self.palette[Colour::Black as usize];
        for y in 0..self.info.height as usize {
            for x in 0..self.info.width as usize {
                self.write_pixel(x, y, black);
            }
        }
        let blank = self.blank();
        for cell in self.cells[..self.columns * self.rows].iter_mut() {
            *cell = blank;
        }
    }

    fn new_line(&mut self) {
        self.column = 0;
        if self.row + 1 < self.rows {
            self.row += 1;
            return;
        }
        // Scroll: each cell takes the value of the one below it; only changed cells are drawn.
        for row in 0..self.rows - 1 {
            for column in 0..self.columns {
                let below = self.cells[(row + 1) * self.columns + column];
                self.put(column, row, below);
            }
        }
        let blank = self.blank();
        for column in 0..self.columns {
            self.put(column, self.rows - 1, blank);
        }
    }

    /// Sets a cell, drawing it if it changed.
    fn put(&mut self, column: usize, row: usize, cell: Cell) {
        let index = row * self.columns + column;
        if self.cells[index] == cell {
            return;
        }
        self.cells[index] = cell;
        self.draw(column, row, cell);
    }

    fn draw(&mut self, column: usize, row: usize, cell: Cell) {
        let foreground = self.palette[usize::from(cell.attribute & 0x0f)];
        let background = self.palette[usize::from(cell.attribute >> 4)];
        let (x0, y0) = self.cell_origin(column, row);
        for y in 0..self.font.height() {
            let bits = self.font.row(usize::from(cell.glyph), y);
            for x in 0..GLYPH_WIDTH {
                let lit = bits & (0x80 >> x) != 0;
                let value = if lit { foreground } else { background };
                self.write_pixel(x0 + x, y0 + y, value);
            }
        }
    }

    // Volatile: the framebuffer is memory the display hardware reads; without it the
    // compiler could merge or drop stores it thinks nobody reads.
    fn write_pixel(&mut self, x: usize, y: usize, value: u32) {
        let offset = y * self.info.pitch as usize + x * self.info.bytes_per_pixel();
        // SAFETY: x < width and y < height (the callers' loops), so the pixel lies inside the
        // byte_len() bytes `new`'s caller vouched for; check() made 16 and 32-bit pixels
        // aligned to their size.
        unsafe {
            let pixel = self.pixels.add(offset);
            match self.info.bits_per_pixel {
                32 => core::ptr::write_volatile(pixel.cast::<u32>(), value),
                16 => core::ptr::write_volatile(pixel.cast::<u16>(), value as u16),
                _ => {
                    for (byte, shift) in [0, 8, 16].into_iter().enumerate() {
                        core::ptr::write_volatile(pixel.add(byte), (value >> shift) as u8);
                    }
                }
            }
        }
    }
}

// SAFETY: the console owns the framebuffer (FramebufferConsole::new's contract); moving it to
// another thread moves that ownership, and the console lock serialises every use.
unsafe impl Send for FramebufferConsole<'_> {}

impl core::fmt::Write for FramebufferConsole<'_> {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        FramebufferConsole::write_str(self, text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::font::CONSOLE_FONT_FILE;
    use super::*;

    /// QEMU's standard VGA under OVMF: 32-bit pixels, blue in the low byte.
    fn info(width: u32, height: u32) -> FramebufferInfo {
        FramebufferInfo {
            address: 0x8000_0000,
            pitch: width * 4,
            width,
            height,
            bits_per_pixel: 32,
            red: ColourField {
                position: 16,
                size: 8,
            },
            green: ColourField {
                position: 8,
                size: 8,
            },
            blue: ColourField {
                position: 0,
                size: 8,
            },
        }
    }

    struct Screen {
        pixels: Vec<u8>,
        cells: Vec<Cell>,
        info: FramebufferInfo,
    }

    impl Screen {
        fn new(info: FramebufferInfo) -> Screen {
            Screen {
                pixels: vec![0x55; info.byte_len() as usize],
                cells: vec![Cell::default(); MAX_COLUMNS * MAX_ROWS],
                info,
            }
        }

        fn console(&mut self) -> FramebufferConsole<'_> {
            let font = Font::parse(CONSOLE_FONT_FILE).unwrap();
            // SAFETY: the Vec holds byte_len() bytes and outlives the console.
            unsafe {
                FramebufferConsole::new(self.pixels.as_mut_ptr(), self.info, font, &mut self.cells)
            }
        }

        fn pixel(&self, x: usize, y: usize) -> u32 {
            let at = y * self.info.pitch as usize + x * 4;
            u32::from_le_bytes(self.pixels[at..at + 4].try_into().unwrap())
        }

        /// Reads the text of pixel row `row` back by matching each cell against the font.
        fn text_at(&self, row: usize, columns: usize) -> String {
            let font = Font::parse(CONSOLE_FONT_FILE).unwrap();
            (0..columns)
                .map(|column| {
                    let ink: Vec<u8> = (0..16)
                        .map(|y| {
                            (0..8).fold(0u8, |bits, x| {
                                let lit = self.pixel(column * 8 + x, row * 16 + y) != 0;
                                bits | (u8::from(lit) << (7 - x))
                            })
                        })
                        .collect();
                    (' '..='~')
                        .find(|&ch| (0..16).all(|y| font.row(font.glyph_for(ch), y) == ink[y]))
                        .unwrap_or('#')
                })
                .collect::<String>()
                .trim_end()
                .to_string()
        }
    }

    #[test]
    fn text_starts_top_left_and_wraps() {
        let mut screen = Screen::new(info(80, 64)); // 10 x 4 cells
        {
            let mut console = screen.console();
            assert_eq!((console.columns(), console.rows()), (10, 4));
            assert_eq!(console.cell_origin(0, 0), (0, 0));
            console.write_str("hello\n0123456789abc");
        }
        assert_eq!(screen.text_at(0, 10), "hello");
        assert_eq!(screen.text_at(1, 10), "0123456789");
        assert_eq!(screen.text_at(2, 10), "abc");
        // Outside the glyphs' ink the screen was cleared to black.
        assert_eq!(screen.pixel(79, 63), 0);
    }

    #[test]
    fn the_bottom_row_scrolls_up() {
        let mut screen = Screen::new(info(80, 48)); // 10 x 3 cells
        {
            let mut console = screen.console();
            console.write_str("one\ntwo\nthree\nfour\n");
        }
        assert_eq!(screen.text_at(0, 10), "three");
        assert_eq!(screen.text_at(1, 10), "four");
        assert_eq!(screen.text_at(2, 10), "");
    }

    #[test]
    fn colours_follow_the_attribute() {
        let mut screen = Screen::new(info(80, 32));
        {
            let mut console = screen.console();
            console.set_attribute(attribute(Colour::Yellow, Colour::Red));
            console.write_str("W");
        }
        let font = Font::parse(CONSOLE_FONT_FILE).unwrap();
        let glyph = font.glyph_for('W');
        let (lit_y, lit_bits) = (0..16)
            .map(|y| (y, font.row(glyph, y)))
            .find(|&(_, b)| b != 0)
            .unwrap();
        let lit_x = lit_bits.leading_zeros() as usize;
        assert_eq!(screen.pixel(lit_x, lit_y), 0xffff55); // yellow
        assert_eq!(screen.pixel(7, 15), 0xaa0000); // red background
    }

    #[test]
    fn packing_follows_the_colour_fields() {
        let rgb565 = FramebufferInfo {
            bits_per_pixel: 16,
            pitch: 160,
            red: ColourField {
                position: 11,
                size: 5,
            },
            green: ColourField {
                position: 5,
                size: 6,
            },
            blue: ColourField {
                position: 0,
                size: 5,
            },
            ..info(80, 16)
        };
        assert_eq!(rgb565.pack([255, 255, 255]), 0xffff);
        assert_eq!(rgb565.pack([255, 0, 0]), 0xf800);
        assert!(rgb565.check().is_ok());
        assert_eq!(info(80, 16).pack([0x12, 0x34, 0x56]), 0x123456);
    }

    #[test]
    fn unusable_framebuffers_are_refused() {
        assert!(info(1024, 768).check().is_ok());
        let indexed = FramebufferInfo {
            bits_per_pixel: 8,
            ..info(1024, 768)
        };
        assert!(indexed.check().is_err());
        let short_pitch = FramebufferInfo {
            pitch: 100,
            ..info(1024, 768)
        };
        assert!(short_pitch.check().is_err());
        let bad_field = FramebufferInfo {
            red: ColourField {
                position: 28,
                size: 8,
            },
            ..info(1024, 768)
        };
        assert!(bad_field.check().is_err());
    }

    #[test]
    fn a_big_screen_uses_at_most_the_maximum_grid() {
        let mut screen = Screen::new(info(3840, 16 * 100));
        let console = screen.console();
        assert_eq!((console.columns(), console.rows()), (MAX_COLUMNS, MAX_ROWS));
    }
}
