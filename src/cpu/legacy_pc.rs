//! The legacy PC devices the kernel depends on, checked before it relies on them. A BIOS PC
//! (and QEMU, under either firmware) has them all; a UEFI-only PC may not: recent ones can
//! leave out the 8259 PICs and the 8254 PIT (the local APIC and HPET replace them) and COM1.
//! Without a PIC or a PIT this kernel gets no timer interrupt and would hang at its first
//! sleep, so it stops with a message instead; COM1 is optional (src/console/serial.rs).
//! Using the APIC instead is a later step.

use x86_64::instructions::port::Port;

const PIC_MASTER_DATA: u16 = 0x21;
const PIC_SLAVE_DATA: u16 = 0xa1;
const PIT_CHANNEL0_DATA: u16 = 0x40;
const PIT_COMMAND: u16 = 0x43;
/// Channel 0, low then high byte, mode 2 (rate generator), binary (8254 datasheet).
const PIT_CHANNEL0_RATE_GENERATOR: u8 = 0x34;
/// Counter-latch command for channel 0: the next two reads return a snapshot of the count.
const PIT_LATCH_CHANNEL0: u8 = 0x00;
/// A count to load for the probe (the timer reprograms channel 0 in time::init).
const PROBE_COUNT: u16 = 1000;

/// Whether an 8259 answers: a mask written to the master's data port (its interrupt mask
/// register) reads back unchanged. Nothing on an unused port holds a value: reads float
/// to 0xff. Linux probes the same way (probe_8259A). Leaves every line masked.
fn pic_present() -> bool {
    const PROBE_MASK: u8 = 0xfb; // all masked but the cascade: anything but 0xff
    let mut master = Port::<u8>::new(PIC_MASTER_DATA);
    let mut slave = Port::<u8>::new(PIC_SLAVE_DATA);
    // SAFETY: writing interrupt masks only masks lines (interrupts are off anyway);
    // pic::init reprograms both chips next.
    unsafe {
        slave.write(0xff);
        master.write(PROBE_MASK);
        let read_back = master.read();
        master.write(0xff);
        read_back == PROBE_MASK
    }
}

/// Whether an 8254 counts: channel 0, loaded with PROBE_COUNT, must read back a count no
/// larger than that (a missing chip reads 0xffff). The count is loaded at the chip's next
/// clock edge (1.19 MHz), so a few reads are allowed for it.
fn pit_present() -> bool {
    let mut command = Port::<u8>::new(PIT_COMMAND);
    let mut data = Port::<u8>::new(PIT_CHANNEL0_DATA);
    // SAFETY: channel 0 belongs to the kernel's timer, which time::init programs later;
    // interrupts are off, so no tick arrives meanwhile.
    unsafe {
        command.write(PIT_CHANNEL0_RATE_GENERATOR);
        data.write(PROBE_COUNT as u8);
        data.write((PROBE_COUNT >> 8) as u8);
        (0..100).any(|_| {
            command.write(PIT_LATCH_CHANNEL0);
            let low = data.read();
            let high = data.read();
            u16::from_le_bytes([low, high]) <= PROBE_COUNT
        })
    }
}

/// Checks for the 8259 PICs and the 8254 PIT; logs what it found, and stops the kernel
/// with a clear report on every console if one is missing.
pub fn check() {
    let (pic, pit) = (pic_present(), pit_present());
    if pic && pit {
        log::info!("legacy PC: 8259 PIC and 8254 PIT answer");
        return;
    }
    let missing = match (pic, pit) {
        (false, false) => "no 8259 PIC and no 8254 PIT",
        (false, true) => "no 8259 PIC",
        _ => "no 8254 PIT",
    };
    panic!(
        "this machine has {missing} (a UEFI-only PC may lack them): the kernel's timer \
         interrupt needs both; using the local APIC instead is not done yet"
    );
}
