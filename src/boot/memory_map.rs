//! The physical memory map as the boot loader reports it (multiboot2 spec 3.6.8, "Memory
//! map"), copied into a fixed-size table so it survives after the boot information is
//! reclaimed and needs no heap.

/// What a range of physical memory is (multiboot2 spec 3.6.8 type values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    /// Type 1: RAM free for the kernel to use.
    Usable,
    /// Type 3: holds ACPI tables; usable once they have been read.
    AcpiReclaimable,
    /// Type 4: must be preserved across hibernation.
    AcpiNvs,
    /// Type 5: defective RAM.
    Defective,
    /// Type 2 and anything unknown: leave it alone.
    Reserved,
}

impl RegionKind {
    pub fn from_multiboot2(type_id: u32) -> Self {
        match type_id {
            1 => RegionKind::Usable,
            3 => RegionKind::AcpiReclaimable,
            4 => RegionKind::AcpiNvs,
            5 => RegionKind::Defective,
            _ => RegionKind::Reserved,
        }
    }
}

/// One range of physical addresses, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryRegion {
    pub start: u64,
    pub end: u64,
    pub kind: RegionKind,
}

/// The most regions kept; real firmware reports a few dozen at most.
pub const MAX_REGIONS: usize = 128;

/// The boot loader's memory map, as reported (possibly unsorted and overlapping: the
/// memory manager cleans it up).
#[derive(Debug, Clone)]
pub struct MemoryMap {
    regions: [MemoryRegion; MAX_REGIONS],
    len: usize,
    dropped: usize,
}

impl Default for MemoryMap {
    fn default() -> Self {
        let empty = MemoryRegion {
            start: 0,
            end: 0,
            kind: RegionKind::Reserved,
        };
        MemoryMap {
            regions: [empty; MAX_REGIONS],
            len: 0,
            dropped: 0,
        }
    }
}

impl MemoryMap {
    /// Adds a region; empty or wrapping ones are ignored, and past MAX_REGIONS they are
    /// counted as dropped.
    pub fn push(&mut self, start: u64, length: u64, kind: RegionKind) {
        let Some(end) = start.checked_add(length) else {
            return;
        };
        if length == 0 {
            return;
        }
        if self.len == MAX_REGIONS {
            self.dropped += 1;
            return;
        }
        self.regions[self.len] = MemoryRegion { start, end, kind };
        self.len += 1;
    }

    pub fn regions(&self) -> &[MemoryRegion] {
        &self.regions[..self.len]
    }

    /// Regions that did not fit in the table.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Total bytes of usable RAM (overlaps counted twice: an upper bound for the log). Adds
    /// without wrapping, whatever sizes a broken map reports.
    pub fn usable_bytes(&self) -> u64 {
        self.regions()
            .iter()
            .filter(|r| r.kind == RegionKind::Usable)
            .map(|r| r.end - r.start)
            .fold(0, u64::saturating_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_regions_and_skips_empty_or_wrapping_ones() {
        let mut map = MemoryMap::default();
        map.push(0, 0x9fc00, RegionKind::Usable);
        map.push(0x100000, 0, RegionKind::Usable);
        map.push(u64::MAX - 4, 10, RegionKind::Usable);
        map.push(0x100000, 0x7ee0000, RegionKind::from_multiboot2(1));
        map.push(0xfffc0000, 0x40000, RegionKind::from_multiboot2(2));
        assert_eq!(map.regions().len(), 3);
        assert_eq!(map.usable_bytes(), 0x9fc00 + 0x7ee0000);
        assert_eq!(map.regions()[2].kind, RegionKind::Reserved);
    }

    #[test]
    fn counts_what_does_not_fit() {
        let mut map = MemoryMap::default();
        for i in 0..MAX_REGIONS as u64 + 3 {
            map.push(i * 0x1000, 0x1000, RegionKind::Usable);
        }
        assert_eq!(map.regions().len(), MAX_REGIONS);
        assert_eq!(map.dropped(), 3);
    }

    #[test]
    fn usable_bytes_saturate_instead_of_wrapping() {
        let mut map = MemoryMap::default();
        map.push(0, u64::MAX, RegionKind::Usable);
        map.push(0, u64::MAX, RegionKind::Usable);
        assert_eq!(map.usable_bytes(), u64::MAX);
    }

    #[test]
    fn unknown_types_are_reserved() {
        assert_eq!(RegionKind::from_multiboot2(0), RegionKind::Reserved);
        assert_eq!(RegionKind::from_multiboot2(99), RegionKind::Reserved);
        assert_eq!(RegionKind::from_multiboot2(3), RegionKind::AcpiReclaimable);
    }
}
