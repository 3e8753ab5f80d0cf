//! The Edge/Level Control Registers (ELCR): which 8259 inputs are level-triggered.
//!
//! The 8259A itself is told edge or level once, for all its inputs, in ICW1. PC chipsets
//! (Intel's PIIX and ICH south bridges, and QEMU's models of them) add one bit per IRQ line
//! instead, in two registers at I/O ports 0x4D0 (IRQ 0-7) and 0x4D1 (IRQ 8-15): 1 = level.
//! ISA devices signal with edges; PCI devices hold their INTx# line low while they want
//! service (level), and share it. A PCI line the ELCR calls edge-triggered loses interrupts:
//! while one device holds the line asserted, a second device's request makes no new edge.
//! Firmware usually sets the bits for the lines it routed PCI interrupts to; the kernel makes
//! sure (src/interrupts/dispatch.rs: `register_pci_irq`).
//!
//! IRQ 0, 1, 2, 8 and 13 (timer, keyboard, cascade, real-time clock, FPU error) belong to
//! the motherboard and are edge-triggered; their ELCR bits are reserved (PIIX3 datasheet,
//! ELCR1/ELCR2) and stay 0.

/// How an interrupt line signals a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A rising edge: one request per edge (ISA).
    Edge,
    /// A level held until the device is served (PCI INTx#).
    Level,
}

/// The line is one of the motherboard's edge-only lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeOnly;

/// The lines whose ELCR bit is reserved: 0, 1, 2, 8, 13.
pub const EDGE_ONLY_LINES: u16 = 1 << 0 | 1 << 1 | 1 << 2 | 1 << 8 | 1 << 13;

/// What line `irq` is set to in `elcr` (both registers, IRQ 0 in bit 0).
pub fn trigger_of(elcr: u16, irq: u8) -> Trigger {
    if elcr & 1 << irq != 0 {
        Trigger::Level
    } else {
        Trigger::Edge
    }
}

/// `elcr` with line `irq` set to `trigger`; an edge-only line cannot be made level.
pub fn with_trigger(elcr: u16, irq: u8, trigger: Trigger) -> Result<u16, EdgeOnly> {
    assert!(irq < 16, "IRQ {irq} does not exist");
    match trigger {
        Trigger::Edge => Ok(elcr & !(1 << irq)),
        Trigger::Level if EDGE_ONLY_LINES & 1 << irq != 0 => Err(EdgeOnly),
        Trigger::Level => Ok(elcr | 1 << irq),
    }
}

#[cfg(target_os = "none")]
pub use ports::set_trigger;

#[cfg(target_os = "none")]
mod ports {
    use super::{EDGE_ONLY_LINES, EdgeOnly, Trigger, trigger_of, with_trigger};
    use x86_64::instructions::port::Port;

    /// ELCR1 (IRQ 0-7) and ELCR2 (IRQ 8-15).
    const ELCR_PORTS: [u16; 2] = [0x4d0, 0x4d1];

    fn read() -> u16 {
        // SAFETY: reading the ELCRs has no side effect.
        let [low, high] = ELCR_PORTS.map(|port| unsafe { Port::<u8>::new(port).read() });
        u16::from_le_bytes([low, high])
    }

    fn write(elcr: u16) {
        let bytes = (elcr & !EDGE_ONLY_LINES).to_le_bytes();
        for (port, byte) in ELCR_PORTS.into_iter().zip(bytes) {
            // SAFETY: the ELCRs only select edge or level per line; the reserved bits are
            // written as 0, as the chipset requires.
            unsafe { Port::<u8>::new(port).write(byte) };
        }
    }

    /// Sets line `irq` to `trigger` in the ELCR; returns what it was before.
    pub fn set_trigger(irq: u8, trigger: Trigger) -> Result<Trigger, EdgeOnly> {
        x86_64::instructions::interrupts::without_interrupts(|| {
            let elcr = read();
            let wanted = with_trigger(elcr, irq, trigger)?;
            if wanted != elcr {
                write(wanted);
            }
            Ok(trigger_of(elcr, irq))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pci_lines_become_level_and_motherboard_lines_stay_edge() {
        // QEMU's SeaBIOS leaves IRQ 10 and 11 level (elcr=0c on the slave: `info pic`).
        let firmware = 0x0c00;
        assert_eq!(trigger_of(firmware, 11), Trigger::Level);
        assert_eq!(trigger_of(firmware, 9), Trigger::Edge);
        assert_eq!(with_trigger(firmware, 11, Trigger::Level), Ok(firmware));
        assert_eq!(with_trigger(firmware, 9, Trigger::Level), Ok(0x0e00));
        assert_eq!(with_trigger(0x0e00, 9, Trigger::Edge), Ok(firmware));
        for line in [0, 1, 2, 8, 13] {
            assert_eq!(
                with_trigger(0, line, Trigger::Level),
                Err(EdgeOnly),
                "IRQ {line}"
            );
        }
        assert_eq!(with_trigger(0, 5, Trigger::Level), Ok(1 << 5));
    }
}
