//! Which screen the console draws on, as the boot loader reports it (multiboot2 spec 3.6.12,
//! the framebuffer info tag), and the colour of each kind of line.
//!
//! | the boot loader says | the console uses |
//! |---|---|
//! | EGA text, 80 x 25 (GRUB on a BIOS PC, `gfxpayload=text`) | VGA text mode at the address given (0xb8000) |
//! | a direct-colour framebuffer (GRUB under UEFI: the firmware's GOP mode) | the framebuffer console (src/console/framebuffer.rs) |
//! | nothing, or a kind this kernel cannot draw | no screen: serial only, and the log says why |
//!
//! Nothing is assumed: under UEFI there is no VGA text mode, and whatever lies at 0xb8000 is
//! not the kernel's to write.

use super::framebuffer::FramebufferInfo;
use super::vga::{COLUMNS, Colour, ROWS, attribute};

/// What the boot loader told us about the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenInfo {
    /// No framebuffer tag: no screen we know of.
    None,
    /// VGA text mode: 80 x 25 cells of character and attribute at `address`.
    VgaText { address: u64 },
    /// A linear framebuffer of direct-colour pixels.
    Framebuffer(FramebufferInfo),
    /// A screen this kernel cannot draw on, and why.
    Unsupported(&'static str),
}

impl ScreenInfo {
    /// The screen described by a framebuffer tag: `kind` 2 is EGA text (its width and height
    /// count characters), 1 direct colour (`rgb` given), 0 a palette.
    pub fn from_tag(
        kind: u8,
        address: u64,
        width: u32,
        height: u32,
        rgb: Option<FramebufferInfo>,
    ) -> ScreenInfo {
        match (kind, rgb) {
            (2, _) if (width, height) == (COLUMNS as u32, ROWS as u32) => {
                ScreenInfo::VgaText { address }
            }
            (2, _) => ScreenInfo::Unsupported("a text mode other than 80 x 25"),
            (1, Some(info)) => match info.check() {
                Ok(()) => ScreenInfo::Framebuffer(info),
                Err(why) => ScreenInfo::Unsupported(why),
            },
            (0, _) => ScreenInfo::Unsupported("a palette (indexed colour) framebuffer"),
            _ => ScreenInfo::Unsupported("an unknown framebuffer type"),
        }
    }

    /// The physical range the screen occupies, for the page tables.
    pub fn memory(&self) -> Option<core::ops::Range<u64>> {
        match self {
            ScreenInfo::VgaText { address } => {
                Some(*address..*address + (COLUMNS * ROWS * 2) as u64)
            }
            ScreenInfo::Framebuffer(info) => Some(info.address..info.address + info.byte_len()),
            _ => None,
        }
    }
}

/// What kind of line is written: each kind has its colour on screen (serial is plain text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Style {
    /// `kprint!` text and info lines.
    Normal = 0,
    Error = 1,
    Warning = 2,
    Debug = 3,
}

impl Style {
    pub fn from_u8(value: u8) -> Style {
        match value {
            1 => Style::Error,
            2 => Style::Warning,
            3 => Style::Debug,
            _ => Style::Normal,
        }
    }

    /// The VGA attribute (foreground and background) of this kind of line.
    pub fn attribute(self) -> u8 {
        let foreground = match self {
            Style::Normal => Colour::LightGrey,
            Style::Error => Colour::LightRed,
            Style::Warning => Colour::Yellow,
            Style::Debug => Colour::DarkGrey,
        };
        attribute(foreground, Colour::Black)
    }
}

/// Every line of the fatal report: white on red.
pub const FATAL_ATTRIBUTE: u8 = attribute(Colour::White, Colour::Red);

#[cfg(test)]
mod tests {
    use super::super::framebuffer::ColourField;
    use super::*;

    fn rgb32() -> FramebufferInfo {
        let field = |position| ColourField { position, size: 8 };
        FramebufferInfo {
            address: 0x8000_0000,
            pitch: 4096,
            width: 1024,
            height: 768,
            bits_per_pixel: 32,
            red: field(16),
            green: field(8),
            blue: field(0),
        }
    }

    #[test]
    fn the_tag_decides_the_screen() {
        assert_eq!(
            ScreenInfo::from_tag(2, 0xb8000, 80, 25, None),
            ScreenInfo::VgaText { address: 0xb8000 }
        );
        assert!(matches!(
            ScreenInfo::from_tag(2, 0xb8000, 80, 50, None),
            ScreenInfo::Unsupported(_)
        ));
        assert_eq!(
            ScreenInfo::from_tag(1, 0x8000_0000, 1024, 768, Some(rgb32())),
            ScreenInfo::Framebuffer(rgb32())
        );
        assert!(matches!(
            ScreenInfo::from_tag(0, 0xa0000, 320, 200, None),
            ScreenInfo::Unsupported(_)
        ));
        let eight_bit = FramebufferInfo {
            bits_per_pixel: 8,
            ..rgb32()
        };
        assert!(matches!(
            ScreenInfo::from_tag(1, 0, 1024, 768, Some(eight_bit)),
            ScreenInfo::Unsupported(_)
        ));
    }

    #[test]
    fn screen_memory_ranges() {
        assert_eq!(
            ScreenInfo::VgaText { address: 0xb8000 }.memory(),
            Some(0xb8000..0xb8fa0)
        );
        assert_eq!(
            ScreenInfo::Framebuffer(rgb32()).memory(),
            Some(0x8000_0000..0x8030_0000)
        );
        assert_eq!(ScreenInfo::None.memory(), None);
    }

    #[test]
    fn styles_round_trip_and_have_colours() {
        for style in [Style::Normal, Style::Error, Style::Warning, Style::Debug] {
            assert_eq!(Style::from_u8(style as u8), style);
        }
        assert_eq!(
            Style::Warning.attribute(),
            attribute(Colour::Yellow, Colour::Black)
        );
        assert_eq!(FATAL_ATTRIBUTE, 0x4f);
    }
}
