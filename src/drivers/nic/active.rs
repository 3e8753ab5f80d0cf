//! The one card in use: chosen and started at boot, its interrupt, and the calls the network
//! stack makes on it.
//!
//! ```text
//!   pci::devices() ──choose (supported.rs)──> driver's start() ──> Box<dyn NetworkCard>
//!                                                                   in CARD (spin lock)
//!   IRQ n ──> on_interrupt: lock CARD, service_interrupt(), flush the transmit backlog
//!                             ──> the stack's hook (wakes its thread)
//!   network thread ──> transmit / receive / watchdog / stats: lock CARD with interrupts off
//! ```
//!
//! Every frame sent goes through the card's transmit backlog (src/drivers/nic/tx_backlog.rs),
//! which keeps the frames the card has no room for and hands them over from the interrupt
//! handler once it frees a transmit buffer.
//!
//! Locking rule: the card sits behind one spin lock. The interrupt handler takes it with
//! interrupts disabled (as every handler runs); every other caller takes it inside
//! `without_interrupts`, so the handler can never find it held.

use super::card::{NetworkCard, StartError, TxError};
use super::stats::NicStats;
use super::supported::{self, Driver, NicWanted};
use super::tx_backlog::TxBacklog;
use crate::drivers::{e1000, rtl8139};
use crate::interrupts;
use crate::pci::{self, PciAddress, PciFunctionInfo};
use alloc::boxed::Box;
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::{Mutex, Once};
use x86_64::instructions::interrupts::without_interrupts;

/// What the logs and the dashboard say about the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardInfo {
    pub model: &'static str,
    pub driver: Driver,
    pub address: PciAddress,
    pub irq: u8,
    pub mac: [u8; 6],
}

/// The card and the frames waiting for it.
struct Active {
    card: Box<dyn NetworkCard>,
    backlog: TxBacklog,
}

static CARD: Once<Mutex<Active>> = Once::new();
static INFO: Once<CardInfo> = Once::new();
/// The network stack's hook, stored as an address (0 = none) so the handler needs no lock.
static INTERRUPT_CALLBACK: AtomicUsize = AtomicUsize::new(0);

/// Chooses a card among those the PCI scan found (`nic=` on the command line, if given,
/// says which), starts its driver and installs its interrupt handler. Logs the choice and
/// why. Returns whether a card is now running.
pub fn init(nic_arg: Option<&str>) -> bool {
    let wanted = match nic_arg.map(|text| (text, NicWanted::parse(text))) {
        None => None,
        Some((_, Some(wanted))) => Some(wanted),
        Some((text, None)) => {
            log::error!(
                "nic: nic={text} names no driver and no slot (rtl8139, e1000, or \
                 bus:device.function like 00:03.0); networking disabled"
            );
            return false;
        }
    };
    let chosen = match supported::choose(pci::devices(), wanted) {
        Ok(chosen) => chosen,
        Err(why) => {
            log::warn!("nic: {why}, networking disabled");
            return false;
        }
    };
    let function = chosen.function;
    log::info!(
        "nic: {} {} ({} driver): {}",
        function.address,
        chosen.card.model,
        chosen.card.driver.name(),
        chosen.reason
    );
    let Some(irq) = function.irq() else {
        log::error!(
            "nic: {} has no interrupt line, networking disabled",
            function.address
        );
        return false;
    };
    let card = match start(chosen.card.driver, function) {
        Ok(card) => card,
        Err(error) => {
            log::error!("nic: {} failed to start: {error:?}", function.address);
            return false;
        }
    };
    INFO.call_once(|| CardInfo {
        model: chosen.card.model,
        driver: chosen.card.driver,
        address: function.address,
        irq,
        mac: card.mac(),
    });
    CARD.call_once(|| {
        Mutex::new(Active {
            card,
            backlog: TxBacklog::new(),
        })
    });
    interrupts::register_pci_irq(irq, on_interrupt);
    with_card(|card| card.enable_interrupts());
    true
}

/// Hands `function` to its driver, which brings the card up with interrupts still masked.
fn start(driver: Driver, function: &PciFunctionInfo) -> Result<Box<dyn NetworkCard>, StartError> {
    match driver {
        Driver::Rtl8139 => Ok(Box::new(rtl8139::Rtl8139Card::new(function)?)),
        Driver::E1000 => Ok(Box::new(e1000::E1000::new(function)?)),
    }
}

/// Runs `body` on the card and its backlog with interrupts off; `None` if there is no card.
fn with_active<R>(body: impl FnOnce(&mut Active) -> R) -> Option<R> {
    let active = CARD.get()?;
    Some(without_interrupts(|| body(&mut active.lock())))
}

/// Runs `body` on the card with interrupts off; `None` if there is no card.
fn with_card<R>(body: impl FnOnce(&mut dyn NetworkCard) -> R) -> Option<R> {
    with_active(|active| body(&mut *active.card))
}

/// The IRQ handler: the dispatcher sends the EOI after it returns. Says whether the card
/// had something to report (the line may be shared).
fn on_interrupt() -> bool {
    let Some(active) = CARD.get() else {
        return false;
    };
    let mut active = active.lock();
    let Active { card, backlog } = &mut *active;
    if !card.service_interrupt() {
        return false;
    }
    // A transmit buffer may have come free: frames that waited go now.
    backlog.flush(&mut **card);
    drop(active);
    let hook = INTERRUPT_CALLBACK.load(Ordering::Acquire);
    if hook != 0 {
        // SAFETY: only set_interrupt_callback stores here, always a `fn()`.
        let hook: fn() = unsafe { core::mem::transmute::<usize, fn()>(hook) };
        hook();
    }
    true
}

/// Sets the function called, in interrupt context, after the driver handled an interrupt
/// (frames queued, transmit buffers freed). It must not block: waking a thread is the
/// intended use.
pub fn set_interrupt_callback(callback: fn()) {
    INTERRUPT_CALLBACK.store(callback as *const () as usize, Ordering::Release);
}

/// The card in use, once [`init`] started one.
pub fn info() -> Option<&'static CardInfo> {
    INFO.get()
}

/// Whether [`init`] started a card.
pub fn is_present() -> bool {
    CARD.get().is_some()
}

/// The card's station address.
pub fn mac_address() -> Option<[u8; 6]> {
    info().map(|info| info.mac)
}

/// A snapshot of the driver's counters and the backlog's (all zero without a card).
pub fn stats() -> NicStats {
    with_active(|active| {
        let mut stats = active.card.stats();
        active.backlog.add_counts(&mut stats);
        stats
    })
    .unwrap_or_default()
}

/// Queues an Ethernet frame (without CRC) for sending: to the card, or to the backlog while
/// the card is full. `Err(Busy)` means both were full and the frame was dropped (counted).
pub fn transmit(frame: &[u8]) -> Result<(), TxError> {
    with_active(|Active { card, backlog }| backlog.transmit(&mut **card, frame))
        .unwrap_or(Err(TxError::NoCard))
}

/// Queues a frame of `len` bytes that `fill` writes in place: in the card's transmit buffer,
/// or in the backlog's while the card is full (`TxBacklog::transmit_with`). `fill` runs with
/// the card locked and interrupts off, at most once, and has run if the answer is `Ok`.
pub fn transmit_with(len: usize, fill: &mut dyn FnMut(&mut [u8])) -> Result<(), TxError> {
    with_active(|Active { card, backlog }| backlog.transmit_with(&mut **card, len, fill))
        .unwrap_or(Err(TxError::NoCard))
}

/// Whether a frame sent now would go straight to the card (nothing waits in the backlog).
pub fn can_transmit() -> bool {
    with_active(|Active { card, backlog }| backlog.can_transmit(&mut **card)).unwrap_or(false)
}

/// The card's watchdog (`NetworkCard::watchdog`), then the backlog: a reset may have freed
/// every transmit buffer. Returns how soon the card wants to be checked again.
pub fn watchdog() -> Option<u64> {
    with_active(|Active { card, backlog }| {
        let due = card.watchdog();
        backlog.flush(&mut **card);
        due
    })
    .flatten()
}

/// How many frames the card can have on their way at once (0 without a card).
pub fn transmit_queue_len() -> usize {
    with_card(|card| card.transmit_queue_len()).unwrap_or(0)
}

/// Copies the oldest received frame into `out`; returns its length.
pub fn receive(out: &mut [u8]) -> Option<usize> {
    with_card(|card| card.receive(out)).flatten()
}

/// Drops every received frame not yet taken (for tests that want a clean start).
pub fn discard_received() {
    with_card(|card| card.discard_received());
}

/// For self-tests of one driver's own behaviour: runs `body` on the card if its driver is
/// of type `D` (for example `Rtl8139`), with interrupts off.
pub fn with_driver<D: NetworkCard + 'static, R>(body: impl FnOnce(&mut D) -> R) -> Option<R> {
    with_card(|card| card.as_any_mut().downcast_mut::<D>().map(body)).flatten()
}
