//! The run queue: the threads that are ready to run, in the order they will run.
//!
//! A fixed ring of thread slots, so that pushing a thread (which interrupt handlers do when
//! they wake one) never allocates: a wake-up can never fail for lack of memory, and never
//! waits, interrupts off, for the heap to grow.
//! Each thread is in the queue at most once, so `N` slots (the size of the thread table)
//! always suffice.

use super::thread::ThreadId;

/// A first-in first-out queue of up to `N` thread ids.
#[derive(Debug)]
pub struct RunQueue<const N: usize> {
    slots: [ThreadId; N],
    head: usize,
    len: usize,
}

impl<const N: usize> RunQueue<N> {
    pub const fn new() -> Self {
        RunQueue {
            slots: [ThreadId(0); N],
            head: 0,
            len: 0,
        }
    }

    /// Appends `id` at the back. Panics if the queue is full, which means a thread was
    /// queued twice: a scheduler bug.
    pub fn push_back(&mut self, id: ThreadId) {
        assert!(self.len < N, "run queue overflow: {id:?} queued twice?");
        self.slots[(self.head + self.len) % N] = id;
        self.len += 1;
    }

    /// Removes and returns the thread at the front: the next one to run.
    pub fn pop_front(&mut self) -> Option<ThreadId> {
        if self.len == 0 {
            return None;
        }
        let id = self.slots[self.head];
        self.head = (self.head + 1) % N;
        self.len -= 1;
        Some(id)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `id` is queued (the scheduler asserts with it before queueing a woken thread).
    pub fn contains(&self, id: ThreadId) -> bool {
        (0..self.len).any(|i| self.slots[(self.head + i) % N] == id)
    }
}

impl<const N: usize> Default for RunQueue<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_order() {
        let mut queue = RunQueue::<4>::new();
        assert!(queue.is_empty());
        for id in 1..=3 {
            queue.push_back(ThreadId(id));
        }
        // The running thread goes to the back when its slice ends: 1 runs, then 2, 3, 1...
        let mut order = Vec::new();
        for _ in 0..7 {
            let next = queue.pop_front().unwrap();
            order.push(next.0);
            queue.push_back(next);
        }
        assert_eq!(order, [1, 2, 3, 1, 2, 3, 1]);
        assert_eq!(queue.len(), 3);
    }

    #[test]
    fn wraps_around_the_ring() {
        let mut queue = RunQueue::<3>::new();
        for round in 0..10 {
            queue.push_back(ThreadId(round));
            queue.push_back(ThreadId(round + 100));
            assert_eq!(queue.pop_front(), Some(ThreadId(round)));
            assert!(queue.contains(ThreadId(round + 100)));
            assert_eq!(queue.pop_front(), Some(ThreadId(round + 100)));
        }
        assert_eq!(queue.pop_front(), None);
    }

    #[test]
    #[should_panic(expected = "run queue overflow")]
    fn overflow_is_a_bug() {
        let mut queue = RunQueue::<2>::new();
        for id in 0..3 {
            queue.push_back(ThreadId(id));
        }
    }

    proptest::proptest! {
        /// Against a VecDeque model: any sequence of pushes and pops gives the same answers.
        #[test]
        fn behaves_like_a_fifo(ops in proptest::collection::vec(proptest::option::of(0usize..50), 0..200)) {
            let mut queue = RunQueue::<8>::new();
            let mut model = std::collections::VecDeque::new();
            for op in ops {
                match op {
                    Some(id) if model.len() < 8 => {
                        queue.push_back(ThreadId(id));
                        model.push_back(ThreadId(id));
                    }
                    _ => proptest::prop_assert_eq!(queue.pop_front(), model.pop_front()),
                }
                proptest::prop_assert_eq!(queue.len(), model.len());
            }
        }
    }
}
