//! The bitmap font of the framebuffer console: Spleen 8x16 by Frederic Cambus (BSD 2-clause
//! licence: src/console/fonts/LICENSE), a PC Screen Font file embedded in the kernel image
//! at build time. tests/e2e/test_uefi.py reads the same file to check the screen.
//!
//! PSF version 1 (the format of the Linux console fonts; see the kbd project's psf.h): a
//! 4-byte header (magic 36 04, mode, bytes per glyph), the glyphs (one byte per pixel row, the
//! leftmost pixel in bit 7), then, if mode bit 1 is set, a Unicode table: for each glyph the
//! 16-bit code points it draws, ended by FFFF, where FFFE starts a multi-character sequence.

/// The font the console draws with.
pub static CONSOLE_FONT_FILE: &[u8] = include_bytes!("fonts/spleen-8x16.psfu");

const PSF1_MAGIC: [u8; 2] = [0x36, 0x04];
const MODE_512_GLYPHS: u8 = 0x01;
const MODE_HAS_TABLE: u8 = 0x02;
const TABLE_END_OF_GLYPH: u16 = 0xffff;
const TABLE_SEQUENCE_START: u16 = 0xfffe;

/// Glyphs are 8 pixels wide in PSF1.
pub const GLYPH_WIDTH: usize = 8;

/// What is wrong with a font file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FontError {
    NotPsf1,
    Truncated,
}

/// A parsed PSF1 font, borrowing the file.
#[derive(Debug, Clone, Copy)]
pub struct Font<'a> {
    glyphs: &'a [u8],
    glyph_count: usize,
    height: usize,
    table: Option<&'a [u8]>,
    /// The glyph of each Latin-1 character (U+0000..U+00FF), [`NO_GLYPH`] if none: looked up
    /// once, since nearly all console text is ASCII.
    latin1: [u16; 256],
    /// Glyph for characters the font does not have: U+FFFD if it has that, else '?'.
    replacement: usize,
}

const NO_GLYPH: u16 = u16::MAX;

impl<'a> Font<'a> {
    pub fn parse(file: &'a [u8]) -> Result<Font<'a>, FontError> {
        let [m0, m1, mode, height, ..] = *file else {
            return Err(FontError::Truncated);
        };
        if [m0, m1] != PSF1_MAGIC || height == 0 {
            return Err(FontError::NotPsf1);
        }
        let glyph_count = if mode & MODE_512_GLYPHS != 0 {
            512
        } else {
            256
        };
        let height = usize::from(height);
        let glyphs_end = 4 + glyph_count * height;
        let glyphs = file.get(4..glyphs_end).ok_or(FontError::Truncated)?;
        let table = (mode & MODE_HAS_TABLE != 0).then(|| &file[glyphs_end..]);
        let mut latin1 = [NO_GLYPH; 256];
        match table {
            Some(table) => for_each_mapping(table, |code, glyph| {
                if let Some(slot) = latin1.get_mut(usize::from(code))
                    && *slot == NO_GLYPH
                    && glyph < glyph_count
                {
                    *slot = glyph as u16;
                }
            }),
            None => {
                for (code, slot) in latin1.iter_mut().enumerate() {
                    *slot = code as u16;
                }
            }
        }
        let mut font = Font {
            glyphs,
            glyph_count,
            height,
            table,
            latin1,
            replacement: usize::from(b'?'),
        };
        font.replacement = font
            .lookup(char::REPLACEMENT_CHARACTER)
            .unwrap_or(usize::from(b'?'));
        Ok(font)
    }

    /// Pixel rows per glyph.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The glyph that draws `ch`: from the Unicode table if the font has one (else the code
    /// point itself, for the first 256), or the replacement glyph.
    pub fn glyph_for(&self, ch: char) -> usize {
        self.lookup(ch).unwrap_or(self.replacement)
    }

    /// Pixel row `row` of glyph `glyph`: bit 7 is the leftmost pixel.
    pub fn row(&self, glyph: usize, row: usize) -> u8 {
        self.glyphs[glyph * self.height + row]
    }

    fn lookup(&self, ch: char) -> Option<usize> {
        let code = u32::from(ch);
        if let Some(&glyph) = self.latin1.get(code as usize) {
            return (glyph != NO_GLYPH).then_some(usize::from(glyph));
        }
        let (table, code) = (self.table?, u16::try_from(code).ok()?);
        let mut found = None;
        for_each_mapping(table, |mapped, glyph| {
            if mapped == code && found.is_none() && glyph < self.glyph_count {
                found = Some(glyph);
            }
        });
        found
    }
}

/// Calls `each(code point, glyph)` for every single code point of a PSF1 Unicode table
/// (multi-character sequences, after FFFE, are skipped).
fn for_each_mapping(table: &[u8], mut each: impl FnMut(u16, usize)) {
    let mut glyph = 0;
    let mut in_sequence = false;
    for pair in table.chunks_exact(2) {
        match u16::from_le_bytes([pair[0], pair[1]]) {
            TABLE_END_OF_GLYPH => {
                glyph += 1;
                in_sequence = false;
            }
            TABLE_SEQUENCE_START => in_sequence = true,
            code if !in_sequence => each(code, glyph),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_font_parses() {
        let font = Font::parse(CONSOLE_FONT_FILE).unwrap();
        assert_eq!(font.height(), 16);
        for ch in ' '..='~' {
            assert_eq!(font.glyph_for(ch), ch as usize);
        }
        // 'A' has ink; ' ' has none.
        assert!((0..16).any(|row| font.row(font.glyph_for('A'), row) != 0));
        assert!((0..16).all(|row| font.row(font.glyph_for(' '), row) == 0));
        // Outside ASCII: é is in the font, a CJK character is not.
        assert_ne!(font.glyph_for('é'), font.glyph_for('?'));
        assert_eq!(
            font.glyph_for('漢'),
            font.glyph_for(char::REPLACEMENT_CHARACTER)
        );
    }

    #[test]
    fn bad_files_are_refused() {
        assert_eq!(Font::parse(b"").unwrap_err(), FontError::Truncated);
        assert_eq!(
            Font::parse(b"\x72\xb5\x4a\x86").unwrap_err(),
            FontError::NotPsf1
        );
        assert_eq!(
            Font::parse(&[0x36, 0x04, 0, 16, 0, 0]).unwrap_err(),
            FontError::Truncated
        );
    }

    #[test]
    fn a_font_without_table_maps_code_points_to_glyphs() {
        let mut file = vec![0x36, 0x04, 0, 1];
        file.extend(0..=255u8);
        let font = Font::parse(&file).unwrap();
        assert_eq!(font.glyph_for('A'), 65);
        assert_eq!(font.row(65, 0), 65);
        assert_eq!(font.glyph_for('Ā'), usize::from(b'?'));
    }
}
