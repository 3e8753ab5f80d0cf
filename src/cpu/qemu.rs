//! Leaving QEMU from inside the guest, for the self-test boot.
//!
//! QEMU's `isa-debug-exit` device (started with `-device isa-debug-exit,iobase=0xf4,iosize=0x04`)
//! ends QEMU when the guest writes a value v to its port; QEMU's exit status is (v << 1) | 1.
//! On a real PC nothing listens on this port and the write does nothing.

use x86_64::instructions::port::Port;

const ISA_DEBUG_EXIT_PORT: u16 = 0xf4;

/// What the self-test reports; the host side (tests/qemu.py) maps the exit status back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    /// QEMU exits with status 33.
    Success = 0x10,
    /// QEMU exits with status 35.
    Failure = 0x11,
}

/// Asks QEMU to exit. Returns only when no isa-debug-exit device is present.
pub fn exit(code: ExitCode) {
    let mut port = Port::<u32>::new(ISA_DEBUG_EXIT_PORT);
    // SAFETY: port 0xf4 is unused on the PC; under QEMU it belongs to isa-debug-exit, whose
    // only effect is to end the emulator.
    unsafe { port.write(code as u32) };
}
