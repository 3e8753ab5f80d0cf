//! The handlers of one IRQ line: several devices may share a line, so each line keeps a
//! small fixed table of handlers, and an interrupt calls every one of them.
//!
//! PCI lets devices share an interrupt line (INTA# of several functions wired to one PIC
//! input): when the line fires, the kernel cannot tell which device raised it, so it asks them
//! all. Each handler looks at its own device's status register and answers whether the
//! device had something to report. Calling them all, not just until the first one answers
//! yes, matters for a level-triggered line: two devices may assert it at once, and one left
//! unserved would keep the line raised.
//!
//! The table is fixed ([`HANDLERS_PER_LINE`] entries) and lock-free, so the interrupt path
//! never allocates or waits: each entry is an atomic holding a function address (0 = empty),
//! filled once by [`IrqChain::add`] with a compare-and-swap.
//!
//! A line that keeps firing while no handler claims it (a device nobody drives, holding a
//! level-triggered line) would interrupt the CPU again right after every end-of-interrupt and
//! starve everything else. After [`UNCLAIMED_LIMIT`] such interrupts in a row the dispatcher
//! masks the line and says so, as Linux does with an interrupt "nobody cared" about.
//!
//! Pure logic over atomics, so the host tests run it with handlers of their own.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// A handler: runs in interrupt context, before the end-of-interrupt, and returns whether
/// its device had raised the interrupt.
pub type IrqHandler = fn() -> bool;

/// Handlers one line can hold.
pub const HANDLERS_PER_LINE: usize = 4;

/// Interrupts in a row that no handler claims before the line is masked.
pub const UNCLAIMED_LIMIT: u32 = 10_000;

/// Every handler slot of the line is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainFull;

/// What one interrupt on the line came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatched {
    /// At least one handler's device had raised it.
    Claimed,
    /// No handler claimed it (`first` for the first of a run: worth one log line).
    Unclaimed { first: bool },
    /// [`UNCLAIMED_LIMIT`] unclaimed interrupts in a row: mask the line.
    Silence,
}

/// The handlers of one line.
pub struct IrqChain {
    handlers: [AtomicUsize; HANDLERS_PER_LINE],
    /// Unclaimed interrupts since the last claimed one.
    unclaimed: AtomicU32,
}

impl Default for IrqChain {
    fn default() -> Self {
        Self::new()
    }
}

impl IrqChain {
    pub const fn new() -> IrqChain {
        IrqChain {
            handlers: [const { AtomicUsize::new(0) }; HANDLERS_PER_LINE],
            unclaimed: AtomicU32::new(0),
        }
    }

    /// Adds `handler` to the line; several handlers are called in the order they were added.
    pub fn add(&self, handler: IrqHandler) -> Result<(), ChainFull> {
        let address = handler as *const () as usize;
        for slot in &self.handlers {
            // Release: an interrupt that finds the address also finds everything the
            // registering code did before (the device's state its handler reads).
            if slot
                .compare_exchange(0, address, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                return Ok(());
            }
        }
        Err(ChainFull)
    }

    /// How many handlers the line has.
    pub fn len(&self) -> usize {
        self.handlers
            .iter()
            .filter(|slot| slot.load(Ordering::Relaxed) != 0)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls every handler of the line (in interrupt context) and says what came of it.
    pub fn dispatch(&self) -> Dispatched {
        let mut claimed = false;
        for slot in &self.handlers {
            let address = slot.load(Ordering::Acquire);
            if address != 0 {
                // SAFETY: only `add` stores non-zero values here, each the address of an
                // `IrqHandler`.
                let handler = unsafe { core::mem::transmute::<usize, IrqHandler>(address) };
                claimed |= handler();
            }
        }
        if claimed {
            self.unclaimed.store(0, Ordering::Relaxed);
            return Dispatched::Claimed;
        }
        let run = self.unclaimed.fetch_add(1, Ordering::Relaxed) + 1;
        if run >= UNCLAIMED_LIMIT {
            self.unclaimed.store(0, Ordering::Relaxed);
            Dispatched::Silence
        } else {
            Dispatched::Unclaimed { first: run == 1 }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    // Each test has handlers of its own: the tests run in parallel threads.
    static CALLS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

    fn nic_with_news() -> bool {
        CALLS.lock().unwrap().push("nic");
        true
    }
    fn disk_without_news() -> bool {
        CALLS.lock().unwrap().push("disk");
        false
    }

    #[test]
    fn every_handler_on_a_shared_line_is_called_and_one_claim_suffices() {
        let chain = IrqChain::new();
        chain.add(disk_without_news).unwrap();
        chain.add(nic_with_news).unwrap();
        assert_eq!(chain.len(), 2);
        CALLS.lock().unwrap().clear();
        assert_eq!(chain.dispatch(), Dispatched::Claimed);
        let calls = CALLS.lock().unwrap().clone();
        assert_eq!(calls, ["disk", "nic"], "both devices were asked, in order");
    }

    fn first_of_two() -> bool {
        true
    }
    fn second_of_two() -> bool {
        true
    }

    /// A second device on the line does not replace the first (the old table held one
    /// handler per line, and the second registration overwrote the first).
    #[test]
    fn a_second_device_does_not_replace_the_first() {
        let chain = IrqChain::new();
        chain.add(first_of_two).unwrap();
        chain.add(second_of_two).unwrap();
        let stored: Vec<usize> = chain
            .handlers
            .iter()
            .map(|slot| slot.load(Ordering::Relaxed))
            .collect();
        assert_eq!(stored[0], first_of_two as *const () as usize);
        assert_eq!(stored[1], second_of_two as *const () as usize);
    }

    fn never_mine() -> bool {
        false
    }

    #[test]
    fn the_table_is_bounded() {
        let chain = IrqChain::new();
        for _ in 0..HANDLERS_PER_LINE {
            chain.add(never_mine).unwrap();
        }
        assert_eq!(chain.add(never_mine), Err(ChainFull));
    }

    fn sometimes_mine() -> bool {
        MINE.load(Ordering::Relaxed)
    }
    static MINE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    /// Unclaimed interrupts: the first of a run is reported; a claim ends the run; a run of
    /// UNCLAIMED_LIMIT silences the line.
    #[test]
    fn a_line_nobody_claims_is_reported_once_then_silenced() {
        let chain = IrqChain::new();
        chain.add(sometimes_mine).unwrap();
        assert_eq!(chain.dispatch(), Dispatched::Unclaimed { first: true });
        assert_eq!(chain.dispatch(), Dispatched::Unclaimed { first: false });
        MINE.store(true, Ordering::Relaxed);
        assert_eq!(chain.dispatch(), Dispatched::Claimed);
        MINE.store(false, Ordering::Relaxed);
        for i in 1..UNCLAIMED_LIMIT {
            assert_eq!(chain.dispatch(), Dispatched::Unclaimed { first: i == 1 });
        }
        assert_eq!(chain.dispatch(), Dispatched::Silence);
        let empty = IrqChain::new();
        assert!(empty.is_empty());
        assert_eq!(empty.dispatch(), Dispatched::Unclaimed { first: true });
    }
}
