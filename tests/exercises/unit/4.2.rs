//! Exercise 4.2: two priorities in the run queue (docs/04-threads.md). `RunQueue<N>` against a
//! model of two FIFOs: the oldest `High` thread first, then the oldest `Normal` one.

use crate::sched::ThreadId;
use crate::sched::run_queue::{Priority, RunQueue};
use std::collections::VecDeque;

#[test]
fn high_threads_go_first_each_priority_in_arrival_order() {
    let mut queue = RunQueue::<8>::new();
    queue.push_back(ThreadId(1));
    queue.push_back_with(ThreadId(2), Priority::Normal);
    queue.push_back_with(ThreadId(3), Priority::High);
    queue.push_back_with(ThreadId(4), Priority::High);
    assert_eq!(queue.len(), 4);
    assert!(queue.contains(ThreadId(1)) && queue.contains(ThreadId(4)));
    assert!(!queue.contains(ThreadId(5)));
    let order: Vec<usize> = core::iter::from_fn(|| queue.pop_front().map(|id| id.0)).collect();
    assert_eq!(
        order,
        [3, 4, 1, 2],
        "High threads first, each priority first in first out; push_back means Normal"
    );
    assert!(queue.is_empty());
    assert_eq!(queue.pop_front(), None);
}

#[test]
fn holds_n_threads_of_either_priority() {
    for priority in [Priority::High, Priority::Normal] {
        let mut queue = RunQueue::<4>::new();
        for id in 0..4 {
            queue.push_back_with(ThreadId(id), priority);
        }
        assert_eq!(queue.len(), 4, "a RunQueue<4> holds four threads of one priority");
        for id in 0..4 {
            assert_eq!(queue.pop_front(), Some(ThreadId(id)));
        }
    }
}

#[test]
#[should_panic]
fn more_than_n_threads_is_a_bug() {
    let mut queue = RunQueue::<2>::new();
    queue.push_back_with(ThreadId(0), Priority::High);
    queue.push_back_with(ThreadId(1), Priority::Normal);
    queue.push_back_with(ThreadId(2), Priority::High);
}

proptest::proptest! {
    /// Any sequence of pushes of either priority and pops, with at most N threads queued,
    /// gives the answers of two FIFOs where the high one is served first.
    #[test]
    fn behaves_like_two_fifos(
        ops in proptest::collection::vec(proptest::option::of((0usize..50, proptest::bool::ANY)), 0..300)
    ) {
        let mut queue = RunQueue::<8>::new();
        let (mut high, mut normal) = (VecDeque::new(), VecDeque::new());
        for op in ops {
            match op {
                Some((id, is_high)) if high.len() + normal.len() < 8 => {
                    if is_high {
                        queue.push_back_with(ThreadId(id), Priority::High);
                        high.push_back(ThreadId(id));
                    } else {
                        queue.push_back_with(ThreadId(id), Priority::Normal);
                        normal.push_back(ThreadId(id));
                    }
                }
                _ => {
                    let expected = high.pop_front().or_else(|| normal.pop_front());
                    proptest::prop_assert_eq!(queue.pop_front(), expected);
                }
            }
            proptest::prop_assert_eq!(queue.len(), high.len() + normal.len());
            proptest::prop_assert_eq!(queue.is_empty(), high.is_empty() && normal.is_empty());
            for id in 0..50 {
                let queued = high.contains(&ThreadId(id)) || normal.contains(&ThreadId(id));
                proptest::prop_assert_eq!(queue.contains(ThreadId(id)), queued);
            }
        }
    }
}
