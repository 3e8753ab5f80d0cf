//! Kernel stacks for threads, each with an unmapped guard below it (see
//! src/memory/stack_area.rs for the layout), and the registry that lets the exception
//! handler name the stack a fault ran off: [`guard_owner`].
//!
//! A stack's pages are single frames from anywhere in RAM, mapped into its slot one page at
//! a time; dropping the stack unmaps them, frees the frames and the page tables that mapped
//! only them, so the frame counts return exactly to where they were.

use super::frames::{self, ANYWHERE};
use super::paging;
use super::regions::FRAME_SIZE;
use super::stack_area::{self, MAX_STACK_SIZE, SLOT_COUNT, StackName};
use alloc::vec::Vec;
use core::ops::Range;
use spin::Mutex;
use x86_64::instructions::interrupts::without_interrupts;

/// A thread's kernel stack; unmapped and freed when dropped.
pub struct KernelStack {
    slot: usize,
    range: Range<u64>,
}

/// The memory manager could not provide a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory;

/// The name and size of the stack in each slot (`None`: slot free). Index = slot number.
static SLOTS: Mutex<Vec<Option<(StackName, u64)>>> = Mutex::new(Vec::new());

/// Slots the registry has room for from the start, so that spawning and joining threads
/// leaves the heap as it found it (the registry only grows past this many live stacks).
const INITIAL_SLOTS: usize = 256;

/// Reserves the registry's initial room. Called by memory::init.
pub fn init() {
    without_interrupts(|| SLOTS.lock().reserve_exact(INITIAL_SLOTS));
}

unsafe extern "C" {
    /// The boot stack and the page below it, reserved in arch/x86_64/boot32.S. The identity
    /// map leaves the guard page unmapped (src/memory/layout.rs).
    static boot_stack_guard: u8;
    static boot_stack_bottom: u8;
}

/// The unmapped page below the boot stack.
pub fn boot_stack_guard_range() -> Range<u64> {
    (&raw const boot_stack_guard) as u64..(&raw const boot_stack_bottom) as u64
}

fn claim_slot(name: StackName, size: u64) -> Option<usize> {
    without_interrupts(|| {
        let mut slots = SLOTS.lock();
        if let Some(free) = slots.iter().position(Option::is_none) {
            slots[free] = Some((name, size));
            return Some(free);
        }
        if slots.len() == SLOT_COUNT || slots.try_reserve(1).is_err() {
            return None;
        }
        slots.push(Some((name, size)));
        Some(slots.len() - 1)
    })
}

fn release_slot(slot: usize) {
    without_interrupts(|| SLOTS.lock()[slot] = None);
}

/// Unmaps the pages of `range` that are mapped and frees their frames and empty tables.
fn unmap_and_free(range: &Range<u64>) {
    for page in range.clone().step_by(FRAME_SIZE as usize) {
        if let Some(frame) = paging::unmap_page(page) {
            frames::free(frame, 1);
        }
    }
    paging::free_empty_tables(range.start, range.end);
}

impl KernelStack {
    /// A stack of `size` bytes (rounded up to whole pages, at most 1020 KiB) for the thread
    /// called `name`, zeroed, with an unmapped guard below it.
    pub fn allocate(name: &str, size: usize) -> Result<KernelStack, OutOfMemory> {
        // Compared before rounding up: near usize::MAX the rounding would wrap to 0.
        if size as u64 > MAX_STACK_SIZE {
            log::warn!("memory: stack {name:?} of {size} bytes exceeds {MAX_STACK_SIZE}");
            return Err(OutOfMemory);
        }
        let size = (size.max(1) as u64).next_multiple_of(FRAME_SIZE);
        let slot = claim_slot(StackName::new(name), size).ok_or(OutOfMemory)?;
        let range = stack_area::stack_range(slot, size);
        for page in range.clone().step_by(FRAME_SIZE as usize) {
            let mapped = frames::allocate(1, 1, ANYWHERE).map(|frame| {
                paging::map_page(page, frame)
                    .inspect_err(|_| frames::free(frame, 1))
                    .is_ok()
            });
            if mapped != Some(true) {
                unmap_and_free(&range);
                release_slot(slot);
                return Err(OutOfMemory);
            }
        }
        // SAFETY: every page of `range` was just mapped read-write to a frame of our own.
        unsafe { core::ptr::write_bytes(range.start as *mut u8, 0, size as usize) };
        Ok(KernelStack { slot, range })
    }

    /// The address just past the highest byte: the initial stack pointer, 16-byte aligned.
    pub fn top(&self) -> u64 {
        self.range.end
    }

    /// The lowest usable address; the page below it is the guard.
    pub fn bottom(&self) -> u64 {
        self.range.start
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        unmap_and_free(&self.range);
        release_slot(self.slot);
    }
}

/// Stacks alive now (not counting the boot stack).
pub fn live_stacks() -> usize {
    without_interrupts(|| SLOTS.lock().iter().flatten().count())
}

/// The stack whose guard `address` lies in, if any: the exception handler calls this to
/// report a stack overflow by name. Safe to call from a fault handler: it does not allocate,
/// and if the registry is locked (the fault hit while it was held) it answers `None`.
pub fn guard_owner(address: u64) -> Option<StackName> {
    if boot_stack_guard_range().contains(&address) {
        return Some(StackName::new("boot"));
    }
    if crate::cpu::gdt::double_fault_stack_guard().contains(&address) {
        return Some(StackName::new("double-fault"));
    }
    let slot = stack_area::slot_of(address)?;
    let slots = SLOTS.try_lock()?;
    let (name, size) = (*slots.get(slot)?)?;
    stack_area::guard_range(slot, size)
        .contains(&address)
        .then_some(name)
}
