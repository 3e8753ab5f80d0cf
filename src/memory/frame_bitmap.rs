//! The bookkeeping of the frame allocator: one bit per physical frame, 1 = free.
//!
//! A bitmap is the simplest structure that can answer both questions the kernel asks: "any
//! free frame, please" (page tables, stack pages) and "N contiguous frames, aligned, below
//! 4 GiB" (DMA buffers, heap growth). It needs no heap: it lives in frames taken from the RAM
//! it describes (see src/memory/frames.rs). Pure logic, unit-tested on the host.

use core::ops::Range;

const BITS: u64 = u64::BITS as u64;

/// Why a free was refused: the frames were not all allocated, so the caller has a bug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoubleFree {
    pub frame: u64,
}

/// One bit per frame number `0..frame_limit`. Frames start out allocated; [`add_free`]
/// hands ranges of RAM to the allocator.
///
/// [`add_free`]: FrameBitmap::add_free
#[derive(Debug)]
pub struct FrameBitmap<'a> {
    words: &'a mut [u64],
    frame_limit: u64,
    total: u64,
    free: u64,
    /// No word below this one has a free bit: where single-frame searches start.
    first_free_word: usize,
}

impl<'a> FrameBitmap<'a> {
    /// How many u64 words a bitmap for frames `0..frame_limit` needs.
    pub const fn words_needed(frame_limit: u64) -> usize {
        frame_limit.div_ceil(BITS) as usize
    }

    /// A bitmap over `words`, every frame allocated (bits cleared).
    pub fn new(words: &'a mut [u64], frame_limit: u64) -> Self {
        assert!(words.len() >= Self::words_needed(frame_limit));
        words.fill(0);
        FrameBitmap {
            words,
            frame_limit,
            total: 0,
            free: 0,
            first_free_word: 0,
        }
    }

    /// Frames handed to the allocator with [`add_free`](Self::add_free), free or not.
    pub fn total_frames(&self) -> u64 {
        self.total
    }

    pub fn free_frames(&self) -> u64 {
        self.free
    }

    pub fn is_free(&self, frame: u64) -> bool {
        frame < self.frame_limit && self.words[(frame / BITS) as usize] & (1 << (frame % BITS)) != 0
    }

    /// Makes `frames` (clipped to the bitmap) available; frames already free are not
    /// counted twice.
    pub fn add_free(&mut self, frames: Range<u64>) {
        for frame in frames.start..frames.end.min(self.frame_limit) {
            if !self.is_free(frame) {
                self.set(frame, true);
                self.total += 1;
                self.free += 1;
            }
        }
        self.first_free_word = 0;
    }

    /// Takes `count` contiguous free frames whose first frame number is a multiple of
    /// `align` (a power of two) and that all lie below frame `below`. Lowest first.
    pub fn allocate(&mut self, count: u64, align: u64, below: u64) -> Option<u64> {
        assert!(count > 0 && align.is_power_of_two());
        let limit = below.min(self.frame_limit);
        let mut start = (self.first_free_word as u64 * BITS).next_multiple_of(align);
        while start + count <= limit {
            match self.first_allocated(start..start + count) {
                None => {
                    for frame in start..start + count {
                        self.set(frame, false);
                    }
                    self.free -= count;
                    self.advance_first_free_word();
                    return Some(start);
                }
                Some(taken) => {
                    start = self.next_free(taken + 1, limit)?.next_multiple_of(align);
                }
            }
        }
        None
    }

    /// Gives back `count` frames from `first`. Refuses, changing nothing, if any of them is
    /// already free.
    pub fn free(&mut self, first: u64, count: u64) -> Result<(), DoubleFree> {
        if let Some(frame) = (first..first + count).find(|&f| self.is_free(f)) {
            return Err(DoubleFree { frame });
        }
        assert!(
            first + count <= self.frame_limit,
            "frame {first} out of range"
        );
        for frame in first..first + count {
            self.set(frame, true);
        }
        self.free += count;
        self.first_free_word = self.first_free_word.min((first / BITS) as usize);
        Ok(())
    }

    fn set(&mut self, frame: u64, free: bool) {
        let (word, bit) = ((frame / BITS) as usize, frame % BITS);
        if free {
            self.words[word] |= 1 << bit;
        } else {
            self.words[word] &= !(1 << bit);
        }
    }

    /// The first allocated frame in `frames`, if any.
    fn first_allocated(&self, frames: Range<u64>) -> Option<u64> {
        let mut frame = frames.start;
        while frame < frames.end {
            let (word, bit) = ((frame / BITS) as usize, frame % BITS);
            let allocated = !self.words[word] >> bit;
            if allocated != 0 {
                let found = frame + u64::from(allocated.trailing_zeros());
                return (found < frames.end).then_some(found);
            }
            frame += BITS - bit;
        }
        None
    }

    /// The first free frame at or after `from`, below `limit`.
    fn next_free(&self, from: u64, limit: u64) -> Option<u64> {
        let mut frame = from;
        while frame < limit {
            let (word, bit) = ((frame / BITS) as usize, frame % BITS);
            let free = self.words[word] >> bit;
            if free != 0 {
                let found = frame + u64::from(free.trailing_zeros());
                return (found < limit).then_some(found);
            }
            frame += BITS - bit;
        }
        None
    }

    fn advance_first_free_word(&mut self) {
        while self.first_free_word < self.words.len() && self.words[self.first_free_word] == 0 {
            self.first_free_word += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bitmap(words: &mut Vec<u64>, limit: u64) -> FrameBitmap<'_> {
        words.resize(FrameBitmap::words_needed(limit), 0);
        FrameBitmap::new(words, limit)
    }

    #[test]
    fn starts_full_and_counts_added_ranges_once() {
        let mut words = Vec::new();
        let mut frames = bitmap(&mut words, 1000);
        assert_eq!((frames.total_frames(), frames.free_frames()), (0, 0));
        assert_eq!(frames.allocate(1, 1, u64::MAX), None);
        frames.add_free(256..300);
        frames.add_free(290..310);
        frames.add_free(990..2000);
        assert_eq!(frames.total_frames(), 54 + 10);
        assert_eq!(frames.free_frames(), 64);
    }

    #[test]
    fn single_frames_come_lowest_first_and_return() {
        let mut words = Vec::new();
        let mut frames = bitmap(&mut words, 512);
        frames.add_free(100..200);
        assert_eq!(frames.allocate(1, 1, u64::MAX), Some(100));
        assert_eq!(frames.allocate(1, 1, u64::MAX), Some(101));
        frames.free(100, 1).unwrap();
        assert_eq!(frames.allocate(1, 1, u64::MAX), Some(100));
        assert_eq!(frames.free_frames(), 98);
    }

    #[test]
    fn contiguous_runs_respect_alignment_and_limit() {
        let mut words = Vec::new();
        let mut frames = bitmap(&mut words, 4096);
        frames.add_free(3..40);
        frames.add_free(100..1000);
        // 16 frames aligned to 16: 16..32 fits in the first range.
        assert_eq!(frames.allocate(16, 16, u64::MAX), Some(16));
        // 32 aligned to 32 no longer fits below 40: the next candidate is 128.
        assert_eq!(frames.allocate(32, 32, u64::MAX), Some(128));
        // Below frame 16 only 3..16 is left: room for one run of 8, not two.
        assert_eq!(frames.allocate(8, 1, 16), Some(3));
        assert_eq!(frames.allocate(8, 1, 16), None);
        assert_eq!(frames.allocate(2000, 1, u64::MAX), None);
    }

    #[test]
    fn a_run_skips_over_a_single_used_frame() {
        let mut words = Vec::new();
        let mut frames = bitmap(&mut words, 256);
        frames.add_free(0..256);
        let hole = frames.allocate(1, 1, u64::MAX).unwrap();
        assert_eq!(hole, 0);
        assert_eq!(frames.allocate(200, 1, u64::MAX), Some(1));
        frames.free(1, 200).unwrap();
        frames.free(0, 1).unwrap();
        assert_eq!(frames.free_frames(), 256);
    }

    #[test]
    fn double_free_is_refused_and_changes_nothing() {
        let mut words = Vec::new();
        let mut frames = bitmap(&mut words, 128);
        frames.add_free(0..128);
        let first = frames.allocate(4, 1, u64::MAX).unwrap();
        frames.free(first + 2, 1).unwrap();
        assert_eq!(frames.free(first, 4), Err(DoubleFree { frame: first + 2 }));
        assert_eq!(frames.free_frames(), 125);
        assert!(!frames.is_free(first));
    }

    proptest! {
        /// Any sequence of allocations and frees keeps the counts right, never hands out a
        /// frame twice, and ends where it started once everything is freed.
        #[test]
        fn counts_are_kept_through_random_use(
            requests in proptest::collection::vec((1u64..40, 0u32..5, any::<bool>()), 1..80)
        ) {
            let mut words = Vec::new();
            let mut frames = bitmap(&mut words, 3000);
            frames.add_free(10..1500);
            frames.add_free(2000..2900);
            let start_free = frames.free_frames();
            let mut owned: Vec<(u64, u64)> = Vec::new();
            for (count, align_log, free_one) in requests {
                if free_one && !owned.is_empty() {
                    let (first, n) = owned.swap_remove(0);
                    frames.free(first, n).unwrap();
                    continue;
                }
                let align = 1 << align_log;
                if let Some(first) = frames.allocate(count, align, u64::MAX) {
                    prop_assert_eq!(first % align, 0);
                    for &(other, n) in &owned {
                        prop_assert!(first + count <= other || other + n <= first);
                    }
                    owned.push((first, count));
                }
                let held: u64 = owned.iter().map(|&(_, n)| n).sum();
                prop_assert_eq!(frames.free_frames() + held, start_free);
            }
            for (first, n) in owned {
                frames.free(first, n).unwrap();
            }
            prop_assert_eq!(frames.free_frames(), start_free);
        }
    }
}
