//! Where the e1000's registers are: BAR0, a memory BAR of 128 KiB (SDM 4.1, table 4-2; the
//! 82574L's BAR0 is the same, and may be a 64-bit BAR). The kernel reaches device memory
//! through its identity map, which covers the first 4 GiB and maps everything that is not
//! RAM there uncached (src/memory/layout.rs); a BAR the firmware placed higher cannot be
//! reached, and the driver refuses the card.

use crate::pci::Bar;

/// The register space the driver needs (CTRL at 0 up to RAH0 and the statistics beyond).
pub const REGISTER_SPACE_LEN: u64 = 128 * 1024;

/// Why BAR0 cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarProblem {
    /// BAR0 is missing or decodes I/O ports.
    NotMemory,
    /// BAR0 lies (partly) at or above 4 GiB, outside the identity map.
    Above4GiB(u64),
    /// BAR0 is smaller than the register space.
    TooSmall(u64),
}

/// The physical address of the registers, from the function's decoded BARs.
pub fn register_base(bars: &[Option<Bar>]) -> Result<u64, BarProblem> {
    let (address, size) = match bars.first().copied().flatten() {
        Some(Bar::Memory { address, size, .. }) => (address, size),
        _ => return Err(BarProblem::NotMemory),
    };
    if size < REGISTER_SPACE_LEN {
        return Err(BarProblem::TooSmall(size));
    }
    if address
        .checked_add(REGISTER_SPACE_LEN)
        .is_none_or(|end| end > 1 << 32)
    {
        return Err(BarProblem::Above4GiB(address));
    }
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_32_bit_or_64_bit_memory_bar0_below_4_gib() {
        let bar32 = Bar::Memory {
            address: 0xfebc_0000,
            size: 0x20000,
            is_64_bit: false,
            prefetchable: false,
        };
        assert_eq!(register_base(&[Some(bar32), None]), Ok(0xfebc_0000));
        let bar64 = Bar::Memory {
            address: 0xfe80_0000,
            size: 0x20000,
            is_64_bit: true,
            prefetchable: false,
        };
        assert_eq!(register_base(&[Some(bar64), None]), Ok(0xfe80_0000));
    }

    #[test]
    fn refuses_io_high_and_small_bars() {
        assert_eq!(
            register_base(&[Some(Bar::Io {
                port: 0xc000,
                size: 64
            })]),
            Err(BarProblem::NotMemory)
        );
        assert_eq!(register_base(&[None]), Err(BarProblem::NotMemory));
        assert_eq!(register_base(&[]), Err(BarProblem::NotMemory));
        let high = Bar::Memory {
            address: 0x8_0000_0000,
            size: 0x20000,
            is_64_bit: true,
            prefetchable: false,
        };
        assert_eq!(
            register_base(&[Some(high)]),
            Err(BarProblem::Above4GiB(0x8_0000_0000))
        );
        let straddling = Bar::Memory {
            address: 0xffff_0000,
            size: 0x20000,
            is_64_bit: true,
            prefetchable: false,
        };
        assert!(matches!(
            register_base(&[Some(straddling)]),
            Err(BarProblem::Above4GiB(_))
        ));
        let small = Bar::Memory {
            address: 0xfebf_1000,
            size: 256,
            is_64_bit: false,
            prefetchable: false,
        };
        assert_eq!(
            register_base(&[Some(small)]),
            Err(BarProblem::TooSmall(256))
        );
    }
}
