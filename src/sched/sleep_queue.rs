//! The sleep queue: threads waiting for a moment in time (a `sleep_ms`, or the timeout of a
//! `wait_until_timeout`), ordered by the timer tick at which they are due.
//!
//! Like the run queue it is a fixed array (no allocation: the timer interrupt takes threads
//! out of it), kept sorted so that the timer interrupt looks only at the front. Threads that
//! are due at the same tick leave in the order they went to sleep.

use super::thread::ThreadId;

/// Up to `N` (deadline tick, thread) entries, earliest deadline first.
#[derive(Debug)]
pub struct SleepQueue<const N: usize> {
    entries: [(u64, ThreadId); N],
    len: usize,
}

impl<const N: usize> SleepQueue<N> {
    pub const fn new() -> Self {
        SleepQueue {
            entries: [(0, ThreadId(0)); N],
            len: 0,
        }
    }

    /// Adds `id`, due at tick `deadline`. Panics when full (a thread queued twice).
    pub fn insert(&mut self, deadline: u64, id: ThreadId) {
        assert!(self.len < N, "sleep queue overflow: {id:?} queued twice?");
        // After every entry due at or before `deadline`: equal deadlines stay in FIFO order.
        let at = self.entries[..self.len].partition_point(|&(due, _)| due <= deadline);
        self.entries.copy_within(at..self.len, at + 1);
        self.entries[at] = (deadline, id);
        self.len += 1;
    }

    /// Removes and returns the first thread whose deadline is at or before `now`.
    pub fn pop_due(&mut self, now: u64) -> Option<ThreadId> {
        if self.len == 0 || self.entries[0].0 > now {
            return None;
        }
        let (_, id) = self.entries[0];
        self.entries.copy_within(1..self.len, 0);
        self.len -= 1;
        Some(id)
    }

    /// Takes `id` out before its deadline (it was woken early). Returns whether it was there.
    pub fn remove(&mut self, id: ThreadId) -> bool {
        let Some(at) = self.entries[..self.len].iter().position(|&(_, t)| t == id) else {
            return false;
        };
        self.entries.copy_within(at + 1..self.len, at);
        self.len -= 1;
        true
    }

    /// The earliest deadline, if any thread sleeps.
    pub fn next_deadline(&self) -> Option<u64> {
        (self.len > 0).then(|| self.entries[0].0)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> Default for SleepQueue<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain_due(queue: &mut SleepQueue<8>, now: u64) -> Vec<usize> {
        core::iter::from_fn(|| queue.pop_due(now))
            .map(|id| id.0)
            .collect()
    }

    #[test]
    fn wakes_in_deadline_order() {
        let mut queue = SleepQueue::<8>::new();
        queue.insert(50, ThreadId(1));
        queue.insert(10, ThreadId(2));
        queue.insert(30, ThreadId(3));
        assert_eq!(queue.next_deadline(), Some(10));
        assert_eq!(drain_due(&mut queue, 9), Vec::<usize>::new());
        assert_eq!(drain_due(&mut queue, 30), [2, 3]);
        assert_eq!(drain_due(&mut queue, 49), Vec::<usize>::new());
        assert_eq!(drain_due(&mut queue, 1000), [1]);
        assert!(queue.is_empty());
    }

    #[test]
    fn equal_deadlines_keep_arrival_order() {
        let mut queue = SleepQueue::<8>::new();
        for id in [4, 2, 7] {
            queue.insert(5, ThreadId(id));
        }
        queue.insert(4, ThreadId(9));
        assert_eq!(drain_due(&mut queue, 5), [9, 4, 2, 7]);
    }

    #[test]
    fn early_wake_removes_the_entry() {
        let mut queue = SleepQueue::<8>::new();
        queue.insert(10, ThreadId(1));
        queue.insert(20, ThreadId(2));
        queue.insert(30, ThreadId(3));
        assert!(queue.remove(ThreadId(2)));
        assert!(!queue.remove(ThreadId(2)));
        assert_eq!(queue.len(), 2);
        assert_eq!(drain_due(&mut queue, 100), [1, 3]);
    }

    proptest::proptest! {
        /// Whatever the insertion order, threads come out sorted by deadline, and none is
        /// released before its deadline.
        #[test]
        fn never_early_always_sorted(deadlines in proptest::collection::vec(0u64..100, 0..8), step in 1u64..20) {
            let mut queue = SleepQueue::<8>::new();
            for (id, &due) in deadlines.iter().enumerate() {
                queue.insert(due, ThreadId(id));
            }
            let mut released = Vec::new();
            let mut now = 0;
            while !queue.is_empty() {
                while let Some(id) = queue.pop_due(now) {
                    proptest::prop_assert!(deadlines[id.0] <= now);
                    released.push(deadlines[id.0]);
                }
                now += step;
            }
            let mut sorted = deadlines.clone();
            sorted.sort();
            proptest::prop_assert_eq!(released, sorted);
        }
    }
}
