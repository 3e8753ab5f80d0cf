//! The register frame that every interrupt and exception entry builds on the stack
//! (arch/x86_64/traps.S), as the Rust dispatcher sees it.

/// Exceptions are vectors 0..32 (SDM vol. 3A, table 6-1); the PICs are remapped right after.
pub const FIRST_IRQ_VECTOR: u8 = 32;

/// Every IDT entry stub is padded to this many bytes (must match TRAP_STUB_SIZE in traps.S).
pub const TRAP_STUB_SIZE: u64 = 16;

/// What the stack holds when `trap_dispatch` is called, lowest address first: the registers
/// pushed by `trap_common`, the vector and error code pushed by the stub, then the frame the
/// CPU pushed itself (SDM vol. 3A, 6.14.2). A handler may change fields: `iretq` reloads them.
#[repr(C)]
#[derive(Debug, Clone, Default)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// The address of the entry stub for `vector`: the stubs are laid out back to back.
pub fn stub_address(stubs_base: u64, vector: u8) -> u64 {
    stubs_base + u64::from(vector) * TRAP_STUB_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout_matches_the_assembly() {
        // 15 saved registers + vector + error code + 5 CPU words = 22 quadwords.
        assert_eq!(core::mem::size_of::<TrapFrame>(), 22 * 8);
        assert_eq!(core::mem::offset_of!(TrapFrame, vector), 15 * 8);
        assert_eq!(core::mem::offset_of!(TrapFrame, rip), 17 * 8);
    }

    #[test]
    fn stubs_are_sixteen_bytes_apart() {
        assert_eq!(stub_address(0x1000, 0), 0x1000);
        assert_eq!(stub_address(0x1000, 14), 0x1000 + 14 * 16);
        assert_eq!(stub_address(0x1000, 255), 0x1000 + 255 * 16);
    }
}
