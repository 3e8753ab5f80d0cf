//! The Page Attribute Table (Intel SDM vol. 3A, 11.12): which memory type each combination of
//! a page entry's PAT, PCD and PWT bits selects. We change one entry so that pages can be
//! mapped write-combining, the memory type for framebuffers (SDM vol. 3A, 11.3: stores are
//! gathered in a buffer and written in bursts, reads are not cached; a screen is written far
//! more than read, and uncached stores, one bus transaction per pixel, are many times
//! slower).
//!
//! | index (PAT PCD PWT) | at power-on | here |
//! |---|---|---|
//! | 0 (0 0 0) | write-back | write-back: RAM |
//! | 1 (0 0 1) | write-through | **write-combining**: the framebuffer |
//! | 2 (0 1 0) | uncached- | uncached- |
//! | 3 (0 1 1) | uncached | uncached: device registers |
//! | 4-7 | as 0-3 | as 0-3 |
//!
//! Index 1 is the one to change (as Linux does): it needs only PWT, a bit that sits at the
//! same place in 4 KiB and 2 MiB entries, whereas the PAT bit does not. Nothing maps a page
//! with PWT alone before this runs, so no cache line or TLB entry holds the old type (the
//! caution of SDM 11.12.4), and loading CR3 right after (memory::init) flushes the TLB.
//! Where the MTRRs say uncached (the PCI hole, where framebuffers live), a write-combining
//! PAT entry still wins (SDM vol. 3A, table 11-7).

/// IA32_PAT (SDM vol. 4, MSR 277H): eight 8-bit entries, entry 0 in the low byte.
#[cfg(target_os = "none")]
const IA32_PAT: u32 = 0x277;

const WRITE_BACK: u64 = 0x06;
const WRITE_COMBINING: u64 = 0x01;
const UNCACHED_MINUS: u64 = 0x07;
const UNCACHED: u64 = 0x00;

/// The table this kernel loads.
pub const KERNEL_PAT: u64 = pat_value([
    WRITE_BACK,
    WRITE_COMBINING,
    UNCACHED_MINUS,
    UNCACHED,
    WRITE_BACK,
    WRITE_COMBINING,
    UNCACHED_MINUS,
    UNCACHED,
]);

const fn pat_value(entries: [u64; 8]) -> u64 {
    let mut value = 0;
    let mut index = 0;
    while index < 8 {
        value |= entries[index] << (index * 8);
        index += 1;
    }
    value
}

#[cfg(target_os = "none")]
static LOADED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Loads [`KERNEL_PAT`] if the CPU has a PAT; returns whether write-combining is available.
#[cfg(target_os = "none")]
pub fn init() -> bool {
    if !super::features::features().pat {
        return false;
    }
    let mut msr = x86_64::registers::model_specific::Msr::new(IA32_PAT);
    // SAFETY: CPUID reports the PAT, so the MSR exists; the new table changes only entries 1
    // and 5, which no page uses yet (see the module documentation).
    unsafe { msr.write(KERNEL_PAT) };
    LOADED.store(true, core::sync::atomic::Ordering::Release);
    true
}

/// Whether PWT alone now selects write-combining ([`init`] ran on a CPU with a PAT).
#[cfg(target_os = "none")]
pub fn write_combining() -> bool {
    LOADED.load(core::sync::atomic::Ordering::Acquire)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_entries_1_and_5_change() {
        const POWER_ON: u64 = 0x0007_0406_0007_0406;
        assert_eq!(KERNEL_PAT, 0x0007_0106_0007_0106);
        let changed: Vec<usize> = (0..8)
            .filter(|i| (KERNEL_PAT >> (i * 8)) & 0xff != (POWER_ON >> (i * 8)) & 0xff)
            .collect();
        assert_eq!(changed, vec![1, 5]);
    }
}
