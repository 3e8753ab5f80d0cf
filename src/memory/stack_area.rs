//! Where kernel stacks live in virtual memory, and how to tell which stack an address
//! belongs to. Pure arithmetic, unit-tested on the host; src/memory/stack.rs does the mapping.
//!
//! Stacks do not live in the identity map: there, the page below a stack is RAM that belongs
//! to someone else, and a stack overflow would silently overwrite it. Instead each stack gets
//! a 1 MiB slot in an area of its own, far above the identity map. Only the top of the slot
//! is mapped; the rest of the slot, at least one page, is the guard: never mapped, so running
//! off the bottom of the stack is a page fault at an address that names the stack.
//!
//! ```text
//!  STACK_AREA_START + i * SLOT_SIZE                      + (i + 1) * SLOT_SIZE
//!  | guard: unmapped (>= 4 KiB)          | stack pages (mapped) |
//!                                        ^ bottom()             ^ top()
//! ```

use super::regions::FRAME_SIZE;
use crate::inline_name::InlineName;
use core::ops::Range;

/// First address of the stack area: PML4 entry 384, in the upper canonical half, which the
/// identity map (physical addresses, far below 2^47) never reaches.
pub const STACK_AREA_START: u64 = 0xffff_c000_0000_0000;

/// Virtual space per stack.
pub const SLOT_SIZE: u64 = 1 << 20;

/// The most stacks alive at once: 16 GiB of virtual space, next to nothing of physical.
pub const SLOT_COUNT: usize = 16 * 1024;

// The whole area lies in the canonical upper half (SDM vol. 1, 3.3.7.1): from
// 0xffff_8000_0000_0000 to the top of the address space, without wrapping.
const _: () = assert!(
    STACK_AREA_START >= 0xffff_8000_0000_0000
        && STACK_AREA_START
            .checked_add(SLOT_COUNT as u64 * SLOT_SIZE)
            .is_some()
);

/// The largest stack a slot holds while keeping one guard page.
pub const MAX_STACK_SIZE: u64 = SLOT_SIZE - FRAME_SIZE;

/// The mapped part of slot `slot` for a stack of `size` bytes (whole pages).
pub fn stack_range(slot: usize, size: u64) -> Range<u64> {
    let end = STACK_AREA_START + (slot as u64 + 1) * SLOT_SIZE;
    end - size..end
}

/// The unmapped part of slot `slot` below a stack of `size` bytes.
pub fn guard_range(slot: usize, size: u64) -> Range<u64> {
    let start = STACK_AREA_START + slot as u64 * SLOT_SIZE;
    start..stack_range(slot, size).start
}

/// The slot that contains `address`, if it lies in the stack area.
pub fn slot_of(address: u64) -> Option<usize> {
    let offset = address.checked_sub(STACK_AREA_START)?;
    let slot = (offset / SLOT_SIZE) as usize;
    (slot < SLOT_COUNT).then_some(slot)
}

/// A stack's name, kept in a fixed buffer: the fault handler reads it without allocating.
pub type StackName = InlineName<32>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_sits_at_the_top_of_its_slot_above_its_guard() {
        let stack = stack_range(3, 16 * 1024);
        let guard = guard_range(3, 16 * 1024);
        assert_eq!(stack.end, STACK_AREA_START + 4 * SLOT_SIZE);
        assert_eq!(stack.end - stack.start, 16 * 1024);
        assert_eq!(guard.end, stack.start);
        assert_eq!(guard.start, STACK_AREA_START + 3 * SLOT_SIZE);
        assert_eq!(
            guard_range(0, MAX_STACK_SIZE).end - STACK_AREA_START,
            FRAME_SIZE
        );
    }

    #[test]
    fn addresses_map_back_to_their_slot() {
        assert_eq!(slot_of(STACK_AREA_START), Some(0));
        assert_eq!(slot_of(STACK_AREA_START + 5 * SLOT_SIZE - 1), Some(4));
        assert_eq!(slot_of(STACK_AREA_START - 1), None);
        assert_eq!(slot_of(0x10_0000), None);
        assert_eq!(
            slot_of(STACK_AREA_START + SLOT_COUNT as u64 * SLOT_SIZE),
            None
        );
    }

    #[test]
    fn names_are_cut_at_character_boundaries() {
        assert_eq!(StackName::new("net-rx").as_str(), "net-rx");
        let long = "é".repeat(20);
        let name = StackName::new(&long);
        assert_eq!(name.as_str(), "é".repeat(16));
        assert_eq!(format!("{name}"), "é".repeat(16));
    }
}
