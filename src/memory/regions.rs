//! Which physical frames the kernel may hand out: the boot loader's memory map, cleaned up.
//!
//! Firmware memory maps are not tidy. Entries may come in any order, may overlap (sometimes a
//! usable entry overlaps a reserved one), and need not start or end on a page boundary. On top
//! of that, some usable RAM is already taken: the kernel image, the multiboot2 information, boot
//! modules, and the first MiB (real-mode IVT, BIOS data, EBDA: left alone by convention).
//!
//! [`usable_ranges`] turns the raw map into sorted, disjoint, page-aligned ranges of free RAM.
//! It is pure logic, unit-tested on the host.

use crate::boot::{MemoryRegion, RegionKind};
use alloc::vec::Vec;
use core::ops::Range;

/// The size of a physical frame and of a small page (SDM vol. 3A, 4.5: 4-KByte pages).
pub const FRAME_SIZE: u64 = 4096;

/// The end of the physical addresses the kernel uses. The identity map puts physical address
/// X at virtual address X, and with 4-level paging a virtual address below the upper half
/// must be under 2^47 (canonical addresses, SDM vol. 1, 3.3.7.1). A memory map entry beyond
/// it (firmware bugs happen) is cut here, which also keeps the rounding below far from
/// wrapping around 2^64.
pub const PHYSICAL_ADDRESS_LIMIT: u64 = 1 << 47;

/// `region` as a range, cut at [`PHYSICAL_ADDRESS_LIMIT`] (empty if it lies wholly above).
fn clipped(region: &MemoryRegion) -> Range<u64> {
    region.start.min(PHYSICAL_ADDRESS_LIMIT)..region.end.min(PHYSICAL_ADDRESS_LIMIT)
}

/// Rounds `value` up to a multiple of `align` (a power of two).
pub fn align_up(value: u64, align: u64) -> u64 {
    (value + align - 1) & !(align - 1)
}

/// Rounds `value` down to a multiple of `align` (a power of two).
pub fn align_down(value: u64, align: u64) -> u64 {
    value & !(align - 1)
}

/// Sorts `ranges` by start and joins those that overlap or touch.
pub fn merge(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_unstable_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

/// `ranges` (sorted, disjoint) minus every range in `holes` (any order, may overlap).
pub fn subtract(ranges: &[Range<u64>], holes: &[Range<u64>]) -> Vec<Range<u64>> {
    let holes = merge(holes.to_vec());
    let mut result = Vec::with_capacity(ranges.len() + holes.len());
    for range in ranges {
        let mut start = range.start;
        for hole in holes
            .iter()
            .filter(|h| h.start < range.end && h.end > range.start)
        {
            if hole.start > start {
                result.push(start..hole.start);
            }
            start = start.max(hole.end);
        }
        if start < range.end {
            result.push(start..range.end);
        }
    }
    result
}

/// The RAM the frame allocator may manage: every `Usable` region of `map` (below
/// [`PHYSICAL_ADDRESS_LIMIT`]), sorted and merged, minus any region the map marks otherwise
/// (when entries overlap, "not usable" wins), minus `reserved`, shrunk to whole frames.
/// Regions left without a whole frame are dropped.
pub fn usable_ranges(map: &[MemoryRegion], reserved: &[Range<u64>]) -> Vec<Range<u64>> {
    let usable = merge(
        map.iter()
            .filter(|r| r.kind == RegionKind::Usable)
            .map(clipped)
            .collect(),
    );
    let mut holes: Vec<Range<u64>> = map
        .iter()
        .filter(|r| r.kind != RegionKind::Usable)
        .map(clipped)
        .collect();
    holes.extend_from_slice(reserved);
    subtract(&usable, &holes)
        .into_iter()
        .map(|r| align_up(r.start, FRAME_SIZE)..align_down(r.end, FRAME_SIZE))
        .filter(|r| r.start < r.end)
        .collect()
}

/// RAM in the wide sense, for the page tables: usable RAM and the RAM that holds ACPI tables
/// (below [`PHYSICAL_ADDRESS_LIMIT`]), sorted, merged and shrunk to whole pages. Everything
/// else below 4 GiB is device memory.
pub fn ram_ranges(map: &[MemoryRegion]) -> Vec<Range<u64>> {
    let is_ram = |kind| {
        matches!(
            kind,
            RegionKind::Usable | RegionKind::AcpiReclaimable | RegionKind::AcpiNvs
        )
    };
    merge(map.iter().filter(|r| is_ram(r.kind)).map(clipped).collect())
        .into_iter()
        .map(|r| align_up(r.start, FRAME_SIZE)..align_down(r.end, FRAME_SIZE))
        .filter(|r| r.start < r.end)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(start: u64, end: u64, kind: RegionKind) -> MemoryRegion {
        MemoryRegion { start, end, kind }
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn qemu_256m_map_minus_first_mib_and_kernel() {
        // What QEMU's SeaBIOS reports for -m 256M.
        let map = [
            region(0, 0x9fc00, RegionKind::Usable),
            region(0x9fc00, 0xa0000, RegionKind::Reserved),
            region(0xf0000, 0x100000, RegionKind::Reserved),
            region(0x100000, 0xffe0000, RegionKind::Usable),
            region(0xffe0000, 0x10000000, RegionKind::Reserved),
            region(0xfffc0000, 0x1_0000_0000, RegionKind::Reserved),
        ];
        let kernel = MIB..3 * MIB + 0x345;
        let usable = usable_ranges(&map, &[0..MIB, kernel]);
        assert_eq!(usable, vec![3 * MIB + 0x1000..0xffe0000]);
    }

    #[test]
    fn unsorted_and_overlapping_regions_are_merged() {
        let map = [
            region(8 * MIB, 16 * MIB, RegionKind::Usable),
            region(2 * MIB, 4 * MIB, RegionKind::Usable),
            region(3 * MIB, 9 * MIB, RegionKind::Usable),
            region(20 * MIB, 24 * MIB, RegionKind::Usable),
            region(16 * MIB, 17 * MIB, RegionKind::Usable),
        ];
        assert_eq!(
            usable_ranges(&map, &[]),
            vec![2 * MIB..17 * MIB, 20 * MIB..24 * MIB]
        );
    }

    #[test]
    fn reserved_entries_win_over_overlapping_usable_ones() {
        let map = [
            region(MIB, 10 * MIB, RegionKind::Usable),
            region(4 * MIB, 5 * MIB, RegionKind::AcpiNvs),
            region(9 * MIB, 12 * MIB, RegionKind::Reserved),
        ];
        assert_eq!(
            usable_ranges(&map, &[]),
            vec![MIB..4 * MIB, 5 * MIB..9 * MIB]
        );
    }

    #[test]
    fn a_region_crossing_the_kernel_image_is_split() {
        let map = [region(0, 64 * MIB, RegionKind::Usable)];
        let kernel = 0x10_0000..0x2a_3000;
        let info = 0x2b_0100..0x2b_0f00;
        let usable = usable_ranges(&map, &[info, 0..MIB, kernel]);
        assert_eq!(usable, vec![0x2a_3000..0x2b_0000, 0x2b_1000..64 * MIB]);
    }

    #[test]
    fn unaligned_edges_shrink_to_whole_frames_and_slivers_vanish() {
        let map = [
            region(0x1234, 0x5678, RegionKind::Usable),
            region(0x10_0800, 0x10_1700, RegionKind::Usable),
            region(0x20_0000, 0x20_0fff, RegionKind::Usable),
        ];
        assert_eq!(usable_ranges(&map, &[]), vec![0x2000..0x5000]);
    }

    #[test]
    fn memory_above_4_gib_is_kept() {
        let map = [
            region(MIB, 0xc000_0000, RegionKind::Usable),
            region(0x1_0000_0000, 0x1_8000_0000, RegionKind::Usable),
        ];
        let usable = usable_ranges(&map, &[]);
        assert_eq!(usable.last(), Some(&(0x1_0000_0000..0x1_8000_0000)));
    }

    #[test]
    fn ram_ranges_include_acpi_memory_but_not_reserved() {
        let map = [
            region(0, 0x9fc00, RegionKind::Usable),
            region(0x9fc00, 0xa0000, RegionKind::Reserved),
            region(MIB, 0x7fe_0000, RegionKind::Usable),
            region(0x7fe_0000, 0x800_0000, RegionKind::AcpiReclaimable),
            region(0xfffc_0000, 0x1_0000_0000, RegionKind::Reserved),
        ];
        assert_eq!(ram_ranges(&map), vec![0..0x9f000, MIB..0x800_0000]);
    }

    #[test]
    fn regions_beyond_the_identity_map_are_cut_or_dropped() {
        // Near 2^64 rounding the start up to a frame would wrap to 0 and turn the region
        // into "all of memory"; above 2^47 no identity mapping can reach the RAM.
        let map = [
            region(MIB, 2 * MIB, RegionKind::Usable),
            region(u64::MAX - 0x7ff, u64::MAX - 0x100, RegionKind::Usable),
            region(
                PHYSICAL_ADDRESS_LIMIT - 4 * MIB,
                PHYSICAL_ADDRESS_LIMIT + MIB,
                RegionKind::Usable,
            ),
            region(
                PHYSICAL_ADDRESS_LIMIT,
                PHYSICAL_ADDRESS_LIMIT + MIB,
                RegionKind::AcpiNvs,
            ),
        ];
        let expected = vec![
            MIB..2 * MIB,
            PHYSICAL_ADDRESS_LIMIT - 4 * MIB..PHYSICAL_ADDRESS_LIMIT,
        ];
        assert_eq!(usable_ranges(&map, &[]), expected);
        assert_eq!(ram_ranges(&map), expected);
    }

    proptest::proptest! {
        /// Whatever the firmware reports, the result is sorted, disjoint, frame-aligned, inside
        /// some usable region, and outside every reserved range and every non-usable region.
        #[test]
        fn result_is_clean_for_any_map(
            raw in proptest::collection::vec((0u64..1 << 24, 1u64..1 << 22, 0u32..6), 0..12),
            reserved in proptest::collection::vec((0u64..1 << 24, 1u64..1 << 20), 0..4),
        ) {
            let map: Vec<MemoryRegion> = raw
                .iter()
                .map(|&(start, len, kind)| region(start, start + len, RegionKind::from_multiboot2(kind)))
                .collect();
            let reserved: Vec<Range<u64>> = reserved.iter().map(|&(s, l)| s..s + l).collect();
            let usable = usable_ranges(&map, &reserved);
            for pair in usable.windows(2) {
                proptest::prop_assert!(pair[0].end < pair[1].start);
            }
            for range in &usable {
                proptest::prop_assert!(range.start < range.end);
                proptest::prop_assert!(range.start.is_multiple_of(FRAME_SIZE) && range.end.is_multiple_of(FRAME_SIZE));
                for probe in [range.start, range.end - 1] {
                    let covering = |kind_usable: bool| map.iter().any(|r| {
                        (r.kind == RegionKind::Usable) == kind_usable && r.start <= probe && probe < r.end
                    });
                    proptest::prop_assert!(covering(true), "{probe:#x} is not usable RAM");
                    proptest::prop_assert!(!covering(false), "{probe:#x} overlaps a non-usable region");
                    proptest::prop_assert!(!reserved.iter().any(|r| r.contains(&probe)));
                }
            }
        }
    }

    #[test]
    fn subtract_handles_holes_on_every_side() {
        let ranges = [10..20, 30..40];
        assert_eq!(
            subtract(&ranges, &[0..12, 15..16, 18..35]),
            vec![12..15, 16..18, 35..40]
        );
        assert_eq!(
            subtract(&ranges, &[0..15, 12..100]),
            Vec::<Range<u64>>::new()
        );
        assert_eq!(subtract(&ranges, &[]), vec![10..20, 30..40]);
    }
}
