//! The VGA text screen: 80 x 25 cells at physical address 0xb8000, each cell a character
//! byte (code page 437) and an attribute byte (background << 4 | foreground colour).
//! See the OSDev wiki, "Text Mode Cursor" and "Printing To Screen".

/// Screen size in cells.
pub const COLUMNS: usize = 80;
pub const ROWS: usize = 25;

/// The 16 VGA text-mode colours, in attribute order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Colour {
    Black = 0,
    Blue = 1,
    Green = 2,
    Cyan = 3,
    Red = 4,
    Magenta = 5,
    Brown = 6,
    LightGrey = 7,
    DarkGrey = 8,
    LightBlue = 9,
    LightGreen = 10,
    LightCyan = 11,
    LightRed = 12,
    Pink = 13,
    Yellow = 14,
    White = 15,
}

impl Colour {
    /// Every colour, in attribute order.
    pub const ALL: [Colour; 16] = [
        Colour::Black,
        Colour::Blue,
        Colour::Green,
        Colour::Cyan,
        Colour::Red,
        Colour::Magenta,
        Colour::Brown,
        Colour::LightGrey,
        Colour::DarkGrey,
        Colour::LightBlue,
        Colour::LightGreen,
        Colour::LightCyan,
        Colour::LightRed,
        Colour::Pink,
        Colour::Yellow,
        Colour::White,
    ];

    /// The colour as 8-bit red, green, blue: the standard VGA palette (two intensities,
    /// 0xaa and 0x55 steps; brown has its green halved), which the framebuffer console uses.
    pub fn rgb(self) -> [u8; 3] {
        let index = self as u8;
        if index == Colour::Brown as u8 {
            return [0xaa, 0x55, 0x00];
        }
        let bright = if index & 8 != 0 { 0x55 } else { 0 };
        let level = |bit: u8| {
            if index & bit != 0 {
                0xaa + bright
            } else {
                bright
            }
        };
        [level(4), level(2), level(1)]
    }
}

/// Packs foreground and background into an attribute byte.
pub const fn attribute(foreground: Colour, background: Colour) -> u8 {
    (background as u8) << 4 | foreground as u8
}

/// A text screen over any cell buffer: the real one is the VGA memory, the unit tests use an
/// array. It writes at the bottom line and scrolls up, like a terminal.
pub struct TextScreen<'a> {
    cells: &'a mut [u16],
    column: usize,
    attribute: u8,
}

impl<'a> TextScreen<'a> {
    /// `cells` must hold COLUMNS * ROWS cells.
    pub fn new(cells: &'a mut [u16]) -> Self {
        assert_eq!(cells.len(), COLUMNS * ROWS);
        TextScreen {
            cells,
            column: 0,
            attribute: attribute(Colour::LightGrey, Colour::Black),
        }
    }

    pub fn set_attribute(&mut self, attribute: u8) {
        self.attribute = attribute;
    }

    pub fn write_byte(&mut self, byte: u8) {
        match byte {
            b'\n' => self.new_line(),
            b'\r' => self.column = 0,
            byte => {
                if self.column == COLUMNS {
                    self.new_line();
                }
                let cell = (ROWS - 1) * COLUMNS + self.column;
                self.write_cell(cell, u16::from(self.attribute) << 8 | u16::from(byte));
                self.column += 1;
            }
        }
    }

    /// Writes a string; characters outside printable ASCII appear as a filled block.
    pub fn write_str(&mut self, text: &str) {
        for byte in text.bytes() {
            match byte {
                0x20..=0x7e | b'\n' | b'\r' => self.write_byte(byte),
                _ => self.write_byte(0xfe),
            }
        }
    }

    fn new_line(&mut self) {
        for cell in COLUMNS..COLUMNS * ROWS {
            let value = self.read_cell(cell);
            self.write_cell(cell - COLUMNS, value);
        }
        let blank = u16::from(self.attribute) << 8 | u16::from(b' ');
        for cell in (ROWS - 1) * COLUMNS..COLUMNS * ROWS {
            self.write_cell(cell, blank);
        }
        self.column = 0;
    }

    // Volatile: the VGA buffer is memory-mapped hardware; without it the compiler could drop
    // writes it thinks nobody reads.
    fn write_cell(&mut self, cell: usize, value: u16) {
        // SAFETY: `cell` < COLUMNS * ROWS (checked by the slice index).
        unsafe { core::ptr::write_volatile(&mut self.cells[cell], value) }
    }

    fn read_cell(&self, cell: usize) -> u16 {
        // SAFETY: as in write_cell.
        unsafe { core::ptr::read_volatile(&self.cells[cell]) }
    }
}

impl core::fmt::Write for TextScreen<'_> {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        TextScreen::write_str(self, text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_text(cells: &[u16], row: usize) -> String {
        cells[row * COLUMNS..(row + 1) * COLUMNS]
            .iter()
            .map(|&cell| (cell & 0xff) as u8 as char)
            .collect::<String>()
            .trim_end_matches(['\0', ' '])
            .to_string()
    }

    #[test]
    fn writes_on_the_bottom_line_and_scrolls() {
        let mut cells = vec![0u16; COLUMNS * ROWS];
        let mut screen = TextScreen::new(&mut cells);
        screen.write_str("first\nsecond");
        assert_eq!(row_text(&cells, ROWS - 2), "first");
        assert_eq!(row_text(&cells, ROWS - 1), "second");
    }

    #[test]
    fn long_lines_wrap_and_odd_bytes_are_replaced() {
        let mut cells = vec![0u16; COLUMNS * ROWS];
        let mut screen = TextScreen::new(&mut cells);
        screen.write_str(&"x".repeat(COLUMNS + 3));
        screen.write_str("\u{e9}");
        assert_eq!(row_text(&cells, ROWS - 2), "x".repeat(COLUMNS));
        let bottom: Vec<u8> = cells[(ROWS - 1) * COLUMNS..][..5]
            .iter()
            .map(|&c| c as u8)
            .collect();
        // "é" is two UTF-8 bytes, each shown as the block character 0xfe.
        assert_eq!(bottom, b"xxx\xfe\xfe");
    }

    #[test]
    fn attribute_packs_background_high() {
        assert_eq!(attribute(Colour::White, Colour::Red), 0x4f);
    }

    #[test]
    fn the_palette_is_the_vga_one() {
        assert_eq!(Colour::Black.rgb(), [0, 0, 0]);
        assert_eq!(Colour::Red.rgb(), [0xaa, 0, 0]);
        assert_eq!(Colour::Brown.rgb(), [0xaa, 0x55, 0]);
        assert_eq!(Colour::LightGrey.rgb(), [0xaa, 0xaa, 0xaa]);
        assert_eq!(Colour::DarkGrey.rgb(), [0x55, 0x55, 0x55]);
        assert_eq!(Colour::Yellow.rgb(), [0xff, 0xff, 0x55]);
        assert_eq!(Colour::White.rgb(), [0xff, 0xff, 0xff]);
        for (index, colour) in Colour::ALL.iter().enumerate() {
            assert_eq!(*colour as usize, index);
        }
    }
}
