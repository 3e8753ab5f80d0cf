//! CPU exceptions (Intel SDM vol. 3A, chapter 6, table 6-1): what each vector means, and
//! what the kernel does about it. A breakpoint is logged and execution continues; a fault
//! that a self-test provoked on purpose is recovered (src/cpu/fault_probe.rs); anything else
//! is fatal: the report goes to both consoles and the CPU halts. A page fault or double
//! fault in a stack's guard page is reported as a stack overflow, naming the stack.

/// The architectural name of exception `vector`.
pub fn name(vector: u64) -> &'static str {
    match vector {
        0 => "divide error (#DE)",
        1 => "debug (#DB)",
        2 => "non-maskable interrupt (NMI)",
        3 => "breakpoint (#BP)",
        4 => "overflow (#OF)",
        5 => "BOUND range exceeded (#BR)",
        6 => "invalid opcode (#UD)",
        7 => "device not available (#NM)",
        8 => "double fault (#DF)",
        9 => "coprocessor segment overrun",
        10 => "invalid TSS (#TS)",
        11 => "segment not present (#NP)",
        12 => "stack-segment fault (#SS)",
        13 => "general protection (#GP)",
        14 => "page fault (#PF)",
        16 => "x87 floating-point error (#MF)",
        17 => "alignment check (#AC)",
        18 => "machine check (#MC)",
        19 => "SIMD floating-point exception (#XM)",
        20 => "virtualization exception (#VE)",
        21 => "control protection exception (#CP)",
        28 => "hypervisor injection exception",
        29 => "VMM communication exception (#VC)",
        30 => "security exception (#SX)",
        _ => "reserved exception",
    }
}

/// The bits of a page-fault error code (SDM vol. 3A, 4.7, figure 4-12), in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageFaultCause {
    /// The page was present: a protection violation rather than a missing page.
    pub protection: bool,
    pub write: bool,
    pub user: bool,
    pub reserved_bit: bool,
    pub instruction_fetch: bool,
}

impl PageFaultCause {
    pub fn from_error_code(code: u64) -> Self {
        PageFaultCause {
            protection: code & 1 != 0,
            write: code & 2 != 0,
            user: code & 4 != 0,
            reserved_bit: code & 8 != 0,
            instruction_fetch: code & 16 != 0,
        }
    }
}

impl core::fmt::Display for PageFaultCause {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let access = if self.instruction_fetch {
            "instruction fetch"
        } else if self.write {
            "write"
        } else {
            "read"
        };
        let why = if self.reserved_bit {
            "reserved bit set in a page entry"
        } else if self.protection {
            "protection violation"
        } else {
            "page not present"
        };
        let mode = if self.user { "user" } else { "kernel" };
        write!(f, "{mode} {access}, {why}")
    }
}

#[cfg(target_os = "none")]
pub use kernel_side::handle;

#[cfg(target_os = "none")]
mod kernel_side {
    use super::{PageFaultCause, name};
    use crate::cpu::fault_probe;
    use crate::cpu::trap::TrapFrame;
    use crate::memory::stack;
    use crate::memory::stack_area::StackName;
    use x86_64::registers::control::Cr2;

    const BREAKPOINT: u64 = 3;
    const DOUBLE_FAULT: u64 = 8;
    const PAGE_FAULT: u64 = 14;

    pub fn handle(frame: &mut TrapFrame) {
        // A double fault keeps CR2 from the page fault it could not deliver: that address
        // tells a stack overflow (the CPU could not push the #PF frame) from other causes.
        let cr2 = if frame.vector == PAGE_FAULT || frame.vector == DOUBLE_FAULT {
            Cr2::read_raw()
        } else {
            0
        };
        if frame.vector == BREAKPOINT {
            log::info!("exception: breakpoint at RIP {:#x}, continuing", frame.rip);
            return;
        }
        let rip = frame.rip;
        if fault_probe::recover(frame, cr2) {
            log::info!(
                "exception: {} (vector {}, error code {:#x}) at RIP {:#x}, CR2 {:#x}: \
                 expected by a self-test, recovered",
                name(frame.vector),
                frame.vector,
                frame.error_code,
                rip,
                cr2
            );
            return;
        }
        crate::fatal::exception(frame, cr2, describe(frame, cr2));
    }

    /// The stack whose guard page the fault hit, if it looks like a stack overflow: the
    /// faulting address (CR2) or the stack pointer lies in a guard (src/memory/stack.rs).
    fn overflowed_stack(frame: &TrapFrame, cr2: u64) -> Option<StackName> {
        if frame.vector != PAGE_FAULT && frame.vector != DOUBLE_FAULT {
            return None;
        }
        stack::guard_owner(cr2).or_else(|| stack::guard_owner(frame.rsp))
    }

    /// A one-line explanation for the report.
    fn describe(frame: &TrapFrame, cr2: u64) -> impl core::fmt::Display {
        struct Describe(u64, u64, u64, Option<StackName>);
        impl core::fmt::Display for Describe {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let Describe(vector, error_code, cr2, overflowed) = *self;
                if let Some(stack) = overflowed {
                    write!(f, "stack overflow in stack '{stack}': ")?;
                }
                write!(f, "{}", name(vector))?;
                if vector == PAGE_FAULT {
                    write!(
                        f,
                        ": {} at {cr2:#x}",
                        PageFaultCause::from_error_code(error_code)
                    )?;
                } else if overflowed.is_some() {
                    write!(f, " after a page fault at {cr2:#x}, in the guard page")?;
                }
                Ok(())
            }
        }
        Describe(
            frame.vector,
            frame.error_code,
            cr2,
            overflowed_stack(frame, cr2),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_architectural_vector() {
        assert_eq!(name(14), "page fault (#PF)");
        assert_eq!(name(8), "double fault (#DF)");
        assert_eq!(name(15), "reserved exception");
        for vector in 0..32 {
            assert!(!name(vector).is_empty());
        }
    }

    #[test]
    fn decodes_page_fault_error_codes() {
        assert_eq!(
            PageFaultCause::from_error_code(0b00010).to_string(),
            "kernel write, page not present"
        );
        assert_eq!(
            PageFaultCause::from_error_code(0b00011).to_string(),
            "kernel write, protection violation"
        );
        assert_eq!(
            PageFaultCause::from_error_code(0b10001).to_string(),
            "kernel instruction fetch, protection violation"
        );
        assert_eq!(
            PageFaultCause::from_error_code(0b01100).to_string(),
            "user read, reserved bit set in a page entry"
        );
    }
}
