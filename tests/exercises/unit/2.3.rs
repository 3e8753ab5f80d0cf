//! Exercise 2.3: every stack slot keeps an unmapped guard page above its stack too, and
//! `stack_area::guard_at` says which guard an address lies in.

use crate::memory::FRAME_SIZE;
use crate::memory::stack_area::{GuardEdge, MAX_STACK_SIZE, SLOT_SIZE, STACK_AREA_START};
use crate::memory::stack_area::{guard_at, guard_range, stack_range};

#[test]
fn the_top_page_of_each_slot_stays_unmapped() {
    let slot_end = STACK_AREA_START + 4 * SLOT_SIZE;
    let stack = stack_range(3, 16 * 1024);
    assert_eq!(stack.end, slot_end - FRAME_SIZE, "the stack ends one page below its slot's end");
    assert_eq!(stack.end - stack.start, 16 * 1024);
    assert_eq!(guard_range(3, 16 * 1024), STACK_AREA_START + 3 * SLOT_SIZE..stack.start);
}

#[test]
fn the_largest_stack_keeps_a_guard_page_at_each_end() {
    assert_eq!(MAX_STACK_SIZE, SLOT_SIZE - 2 * FRAME_SIZE);
    let stack = stack_range(0, MAX_STACK_SIZE);
    assert_eq!(stack.start, STACK_AREA_START + FRAME_SIZE);
    assert_eq!(stack.end, STACK_AREA_START + SLOT_SIZE - FRAME_SIZE);
}

#[test]
fn guard_at_names_the_edge() {
    let size = 16 * 1024;
    let stack = stack_range(5, size);
    assert_eq!(guard_at(5, size, stack.start - 8), Some(GuardEdge::Below));
    assert_eq!(guard_at(5, size, STACK_AREA_START + 5 * SLOT_SIZE), Some(GuardEdge::Below));
    assert_eq!(guard_at(5, size, stack.end), Some(GuardEdge::Above));
    assert_eq!(guard_at(5, size, stack.end + FRAME_SIZE - 1), Some(GuardEdge::Above));
    assert_eq!(guard_at(5, size, stack.start), None);
    assert_eq!(guard_at(5, size, stack.end - 1), None);
    assert_eq!(guard_at(5, size, stack.end + FRAME_SIZE), None, "the next slot is not this one's guard");
}
