//! A Base Address Register as the scan decoded it: which address space, where, how big.
//!
//! pci_types decodes the BAR's fields and sizes memory BARs; it reports an I/O BAR's port but
//! not its size, which the scan measures itself (src/pci/scan.rs, `io_bar_size`). This type
//! holds both kinds with their sizes, and prints them the way `lspci -v` does.

use core::fmt;

/// One implemented BAR of a function (PCI Local Bus Specification 3.0, section 6.2.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bar {
    /// A range of I/O ports (bit 0 of the BAR set), reached with `in`/`out` instructions.
    Io { port: u32, size: u32 },
    /// A range of physical addresses (bit 0 clear), reached with ordinary loads and stores.
    Memory {
        address: u64,
        size: u64,
        /// Type 10: the BAR and the next slot hold one 64-bit address; type 00: 32 bits.
        is_64_bit: bool,
        /// Reads have no side effects, so the range may be cached or read ahead.
        prefetchable: bool,
    },
}

impl Bar {
    /// Converts pci_types' decoding; `io_size` is the I/O range the scan measured.
    pub fn from_decoded(bar: pci_types::Bar, io_size: u32) -> Self {
        match bar {
            pci_types::Bar::Io { port } => Bar::Io {
                port,
                size: io_size,
            },
            pci_types::Bar::Memory32 {
                address,
                size,
                prefetchable,
            } => Bar::Memory {
                address: u64::from(address),
                size: u64::from(size),
                is_64_bit: false,
                prefetchable,
            },
            pci_types::Bar::Memory64 {
                address,
                size,
                prefetchable,
            } => Bar::Memory {
                address,
                size,
                is_64_bit: true,
                prefetchable,
            },
        }
    }
}

/// `I/O ports at 0xc000 [size=256]`, or
/// `memory at 0xfebf1000 (32-bit, non-prefetchable) [size=256]`.
impl fmt::Display for Bar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Bar::Io { port, size } => {
                write!(f, "I/O ports at {port:#x} [size={}]", Size(u64::from(size)))
            }
            Bar::Memory {
                address,
                size,
                is_64_bit,
                prefetchable,
            } => write!(
                f,
                "memory at {address:#x} ({}-bit, {}) [size={}]",
                if is_64_bit { 64 } else { 32 },
                if prefetchable {
                    "prefetchable"
                } else {
                    "non-prefetchable"
                },
                Size(size)
            ),
        }
    }
}

/// A BAR's size as `lspci` prints it: `256`, `4K`, `128K`, `16M`. BAR sizes are powers of
/// two, so the largest unit that divides the size always gives a whole number.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 3] = [(1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
        for (unit, suffix) in UNITS {
            if self.0 >= unit && self.0.is_multiple_of(unit) {
                return write!(f, "{}{suffix}", self.0 / unit);
            }
        }
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn prints_like_lspci() {
        let io = Bar::Io {
            port: 0xc000,
            size: 256,
        };
        assert_eq!(io.to_string(), "I/O ports at 0xc000 [size=256]");
        let vga = Bar::Memory {
            address: 0xfd00_0000,
            size: 16 << 20,
            is_64_bit: false,
            prefetchable: true,
        };
        assert_eq!(
            vga.to_string(),
            "memory at 0xfd000000 (32-bit, prefetchable) [size=16M]"
        );
        let high = Bar::Memory {
            address: 0x8_0000_0000,
            size: 128 << 10,
            is_64_bit: true,
            prefetchable: false,
        };
        assert_eq!(
            high.to_string(),
            "memory at 0x800000000 (64-bit, non-prefetchable) [size=128K]"
        );
    }

    #[test]
    fn converts_pci_types_decoding() {
        let decoded = pci_types::Bar::Memory64 {
            address: 0xfe00_0000,
            size: 0x4000,
            prefetchable: true,
        };
        assert_eq!(
            Bar::from_decoded(decoded, 0),
            Bar::Memory {
                address: 0xfe00_0000,
                size: 0x4000,
                is_64_bit: true,
                prefetchable: true
            }
        );
        assert_eq!(
            Bar::from_decoded(pci_types::Bar::Io { port: 0xc040 }, 16),
            Bar::Io {
                port: 0xc040,
                size: 16
            }
        );
    }

    #[test]
    fn sizes_that_are_not_whole_units_print_in_bytes() {
        assert_eq!(Size(1536).to_string(), "1536");
        assert_eq!(Size(1 << 30).to_string(), "1G");
        assert_eq!(Size(16).to_string(), "16");
    }
}
