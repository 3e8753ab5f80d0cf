//! The two 8259A Programmable Interrupt Controllers of the PC.
//!
//! At power-on the master PIC delivers IRQ 0-7 on vectors 8-15, which collide with CPU
//! exceptions (#DF is 8). We remap IRQ 0-15 to vectors 32-47 (8259A datasheet, ICW2). IRQ 2
//! of the master is the cascade from the slave (IRQ 8-15): it must stay unmasked for any
//! slave interrupt (such as the NIC's IRQ 11 on QEMU) to reach the CPU.

use super::trap::FIRST_IRQ_VECTOR;
use pic8259::ChainedPics;
use spin::Mutex;
use x86_64::instructions::port::Port;

/// The number of IRQ lines across both PICs.
pub const IRQ_LINES: u8 = 16;
/// The master's input that the slave is wired to.
pub const CASCADE_IRQ: u8 = 2;

const MASTER_COMMAND: u16 = 0x20;
const SLAVE_COMMAND: u16 = 0xa0;
/// OCW3 "read in-service register" (8259A datasheet, OCW3: RR=1, RIS=1).
const OCW3_READ_ISR: u8 = 0x0b;

// SAFETY: 32 and 40 are free vectors, just after the 32 exception vectors.
static PICS: Mutex<ChainedPics> =
    Mutex::new(unsafe { ChainedPics::new(FIRST_IRQ_VECTOR, FIRST_IRQ_VECTOR + 8) });

/// Remaps both PICs and masks every line but the cascade.
pub fn init() {
    let mut pics = PICS.lock();
    // SAFETY: the PICs sit at their standard ports on every PC; we own them from now on.
    unsafe {
        pics.initialize();
        pics.write_masks(!(1 << CASCADE_IRQ), 0xff);
    }
}

/// Lets `irq` through to the CPU.
pub fn unmask(irq: u8) {
    set_masked(irq, false);
}

/// Stops `irq` from reaching the CPU.
pub fn mask(irq: u8) {
    set_masked(irq, true);
}

fn set_masked(irq: u8, masked: bool) {
    assert!(irq < IRQ_LINES, "IRQ {irq} does not exist");
    // Threads call this with interrupts on, and every interrupt takes PICS for its EOI: an
    // interrupt arriving while a thread holds the lock would spin on it forever.
    x86_64::instructions::interrupts::without_interrupts(|| write_mask_bit(irq, masked));
}

fn write_mask_bit(irq: u8, masked: bool) {
    let mut pics = PICS.lock();
    // SAFETY: reading and writing the mask registers has no effect beyond masking lines.
    unsafe {
        let mut masks = pics.read_masks();
        let (chip, bit) = (usize::from(irq / 8), irq % 8);
        if masked {
            masks[chip] |= 1 << bit;
        } else {
            masks[chip] &= !(1 << bit);
        }
        pics.write_masks(masks[0], masks[1]);
    }
}

/// Signals end-of-interrupt for `irq`; for a slave line the PIC crate tells both chips.
pub fn end_of_interrupt(irq: u8) {
    // SAFETY: called once per delivered interrupt, after its handler ran.
    unsafe { PICS.lock().notify_end_of_interrupt(FIRST_IRQ_VECTOR + irq) };
}

/// A spurious interrupt arrives on the lowest-priority line of a PIC (IRQ 7 or 15) when a
/// request went away before the CPU acknowledged it. The in-service register then has no bit
/// set for it, and no EOI must be sent to that chip (a spurious IRQ 15 still needs an EOI to
/// the master, whose cascade line did fire). See the OSDev wiki, "8259 PIC", spurious IRQs.
pub fn is_spurious(irq: u8) -> bool {
    if irq != 7 && irq != 15 {
        return false;
    }
    let command = if irq == 7 {
        MASTER_COMMAND
    } else {
        SLAVE_COMMAND
    };
    let mut port = Port::<u8>::new(command);
    // SAFETY: OCW3 selects which register the next read of the command port returns; it
    // changes nothing else.
    let in_service = unsafe {
        port.write(OCW3_READ_ISR);
        port.read()
    };
    in_service & 0x80 == 0
}

/// Sends the EOI that a spurious IRQ 15 owes the master's cascade line.
pub fn end_of_spurious_slave_interrupt() {
    end_of_interrupt(CASCADE_IRQ);
}
