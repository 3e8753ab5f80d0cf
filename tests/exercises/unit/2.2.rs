//! Exercise 2.2: `FrameBitmap::allocate` hands out single frames from above 4 GiB first, so
//! that the memory below 4 GiB stays for what needs it (DMA buffers, 32-bit devices).

use crate::memory::frame_bitmap::FrameBitmap;

/// The frame number of 4 GiB.
const FOUR_GIB: u64 = (1 << 32) / 4096;

fn bitmap(words: &mut Vec<u64>, limit: u64) -> FrameBitmap<'_> {
    words.resize(FrameBitmap::words_needed(limit), 0);
    FrameBitmap::new(words, limit)
}

#[test]
fn on_a_5_gib_map_single_frames_come_from_above_4_gib() {
    let limit = 5 * (1 << 30) / 4096;
    let mut words = Vec::new();
    let mut frames = bitmap(&mut words, limit);
    frames.add_free(256..3 * (1 << 30) / 4096); // 1 MiB .. 3 GiB, below the PCI hole
    frames.add_free(FOUR_GIB..limit); // 4 GiB .. 5 GiB
    for i in 0..1000 {
        let frame = frames.allocate(1, 1, u64::MAX).expect("a free frame");
        assert!(frame >= FOUR_GIB, "single frame number {i} is {frame:#x}, below 4 GiB");
    }
    // A DMA buffer below 4 GiB still gets the lowest aligned run there.
    assert_eq!(frames.allocate(16, 16, FOUR_GIB), Some(256));
    // A single frame that must lie below 4 GiB comes from below.
    let low = frames.allocate(1, 1, FOUR_GIB).expect("a frame below 4 GiB");
    assert!(low < FOUR_GIB);
    assert_eq!(frames.free_frames(), frames.total_frames() - 1000 - 16 - 1);
}

#[test]
fn when_the_frames_above_4_gib_run_out_single_frames_come_from_below() {
    let mut words = Vec::new();
    let mut frames = bitmap(&mut words, FOUR_GIB + 64);
    frames.add_free(256..300);
    frames.add_free(FOUR_GIB..FOUR_GIB + 10);
    let high: Vec<u64> = (0..10).map(|_| frames.allocate(1, 1, u64::MAX).unwrap()).collect();
    assert!(high.iter().all(|&frame| frame >= FOUR_GIB), "{high:x?}");
    assert_eq!(frames.allocate(1, 1, u64::MAX), Some(256));
    frames.free(high[3], 1).unwrap();
    assert_eq!(frames.allocate(1, 1, u64::MAX), Some(high[3]), "a freed high frame is taken again first");
}

#[test]
fn below_4_gib_only_nothing_changes() {
    let mut words = Vec::new();
    let mut frames = bitmap(&mut words, 1000);
    frames.add_free(100..200);
    assert_eq!(frames.allocate(1, 1, u64::MAX), Some(100));
    assert_eq!(frames.allocate(1, 1, u64::MAX), Some(101));
}
