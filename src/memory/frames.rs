//! The physical frame allocator: every free 4 KiB frame of RAM, found in the boot loader's
//! memory map and tracked in a [`FrameBitmap`].
//!
//! The bitmap needs one bit per frame up to the end of RAM (160 KiB for 5 GiB). It cannot come
//! from the heap (the heap grows by asking this allocator), so [`init`] carves it out of the
//! first free RAM range big enough, below 4 GiB where the boot page tables reach.

use super::frame_bitmap::FrameBitmap;
use super::regions::{self, FRAME_SIZE, align_up};
use crate::boot::BootInfo;
use core::ops::Range;
use spin::{Mutex, Once};
use x86_64::instructions::interrupts::without_interrupts;

/// Frame numbers below this lie under 4 GiB: what 32-bit DMA engines and the boot page
/// tables can reach.
pub const FRAMES_BELOW_4GIB: u64 = (1 << 32) / FRAME_SIZE;

/// Any frame will do.
pub const ANYWHERE: u64 = u64::MAX;

/// The real-mode interrupt table, BIOS data and EBDA live in the first MiB; by convention
/// (and because some BIOSes keep using it) the kernel leaves it alone.
const FIRST_MIB: Range<u64> = 0..0x10_0000;

static FRAMES: Once<Mutex<FrameBitmap<'static>>> = Once::new();

/// Runs `body` on the bitmap with interrupts off, so that an interrupt handler that
/// allocates cannot deadlock on a lock its own CPU holds. `None` before [`init`].
fn with_frames<R>(body: impl FnOnce(&mut FrameBitmap<'static>) -> R) -> Option<R> {
    let frames = FRAMES.get()?;
    Some(without_interrupts(|| body(&mut frames.lock())))
}

/// Builds the allocator from the memory map, leaving out the first MiB, `kernel_image`,
/// the multiboot2 information and the boot modules. Returns the frames it manages.
pub fn init(boot: &BootInfo, kernel_image: Range<u64>) -> u64 {
    let mut reserved = alloc::vec![FIRST_MIB, kernel_image, boot.info_range.clone()];
    boot.for_each_module(|module| reserved.push(module));
    let usable = regions::usable_ranges(boot.memory_map.regions(), &reserved);
    let frame_limit = usable.last().map_or(0, |r| r.end / FRAME_SIZE);
    let words = FrameBitmap::words_needed(frame_limit);
    let bytes = align_up(words as u64 * 8, FRAME_SIZE);
    // The bitmap must lie below 4 GiB; its range need not (a range may run on past 4 GiB).
    let home = usable
        .iter()
        .find(|r| r.end - r.start >= bytes && r.start + bytes <= FRAMES_BELOW_4GIB * FRAME_SIZE)
        .unwrap_or_else(|| panic!("no {bytes} bytes of free RAM below 4 GiB for the frame bitmap"));
    let storage = home.start..home.start + bytes;
    // SAFETY: `storage` is free RAM (from the cleaned-up map) below 4 GiB, so the boot page
    // tables map it; it is removed from the allocator's ranges just below, so nothing else
    // will ever use it, and the Once makes this the only reference.
    let words: &'static mut [u64] =
        unsafe { core::slice::from_raw_parts_mut(storage.start as *mut u64, words) };
    let mut bitmap = FrameBitmap::new(words, frame_limit);
    for range in regions::subtract(&usable, &[storage]) {
        bitmap.add_free(range.start / FRAME_SIZE..range.end / FRAME_SIZE);
    }
    let total = bitmap.total_frames();
    FRAMES.call_once(|| Mutex::new(bitmap));
    total
}

/// `count` contiguous frames, the first one's number a multiple of `align_frames`, all
/// below frame `below_frame` ([`FRAMES_BELOW_4GIB`] or [`ANYWHERE`]). Returns the physical
/// address of the first. The frames' contents are whatever was there before.
pub fn allocate(count: u64, align_frames: u64, below_frame: u64) -> Option<u64> {
    with_frames(|frames| frames.allocate(count, align_frames, below_frame))
        .flatten()
        .map(|frame| frame * FRAME_SIZE)
}

/// Gives back `count` frames starting at physical address `address`.
///
/// Panics on a double free: the frame may already belong to someone else, so going on
/// would corrupt memory silently.
pub fn free(address: u64, count: u64) {
    let result = with_frames(|frames| frames.free(address / FRAME_SIZE, count))
        .expect("frames::free before frames::init");
    if let Err(double) = result {
        panic!(
            "frame {:#x} freed twice (freeing {count} frame(s) at {address:#x})",
            double.frame * FRAME_SIZE
        );
    }
}

/// Frames managed by the allocator (free RAM at boot, minus the bitmap itself).
pub fn total_frames() -> u64 {
    with_frames(|frames| frames.total_frames()).unwrap_or(0)
}

pub fn free_frames() -> u64 {
    with_frames(|frames| frames.free_frames()).unwrap_or(0)
}
