//! For the self-tests: does an interrupt leave the interrupted code's registers as they were?
//!
//! The entry stubs (arch/x86_64/traps.S) save and restore every general-purpose register, and
//! a preempted thread's registers also go through the context switch (src/cpu/context.rs).
//! A register missed or restored into the wrong place would corrupt whatever code the
//! interrupt happened to hit, rarely and far from the cause. These helpers fill the registers
//! with a known pattern, run a few instructions during which an interrupt happens, and read
//! them back.
//!
//! Inline assembly may use 13 of the 16 general-purpose registers: not RSP, not RBP (the
//! frame pointer: the kernel is built with frame pointers) and not RBX (LLVM reserves it).
//! Those three are checked indirectly: the compiled code around the assembly relies on them.

use alloc::string::String;

/// How many registers the helpers fill and check.
pub const CHECKED: usize = 13;

/// The registers, in the order of [`PATTERN`] and of the arrays the helpers return.
pub const NAMES: [&str; CHECKED] = [
    "RAX", "RCX", "RDX", "RSI", "RDI", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
];

/// One distinct value per register, none of them a small number or an address that a
/// handler could plausibly leave behind.
pub const PATTERN: [u64; CHECKED] = [
    0xa0a0_0000_0000_00a0,
    0xa1a1_1111_1111_11a1,
    0xa2a2_2222_2222_22a2,
    0xa3a3_3333_3333_33a3,
    0xa4a4_4444_4444_44a4,
    0xa5a5_5555_5555_55a5,
    0xa6a6_6666_6666_66a6,
    0xa7a7_7777_7777_77a7,
    0xa8a8_8888_8888_88a8,
    0xa9a9_9999_9999_99a9,
    0xaaaa_aaaa_aaaa_aaaa,
    0xabab_bbbb_bbbb_bbab,
    0xacac_cccc_cccc_ccac,
];

/// Loads `$registers` into the 13 registers, runs the assembly `$code`, and stores the
/// registers back into `$registers`.
macro_rules! around {
    ($registers:ident, $($code:literal),+) => {
        // SAFETY: the assembly only changes the registers it declares (and the flags); the
        // interrupt it waits for or raises returns to it with the stack as it was.
        unsafe {
            core::arch::asm!(
                $($code),+,
                inout("rax") $registers[0],
                inout("rcx") $registers[1],
                inout("rdx") $registers[2],
                inout("rsi") $registers[3],
                inout("rdi") $registers[4],
                inout("r8") $registers[5],
                inout("r9") $registers[6],
                inout("r10") $registers[7],
                inout("r11") $registers[8],
                inout("r12") $registers[9],
                inout("r13") $registers[10],
                inout("r14") $registers[11],
                inout("r15") $registers[12],
            )
        }
    };
}

/// The registers after a breakpoint exception (`int3`) went through the trap path.
pub fn around_int3() -> [u64; CHECKED] {
    let mut registers = PATTERN;
    around!(registers, "int3");
    registers
}

/// The registers after a loop that counts RCX down from `iterations` to zero, long enough
/// for timer interrupts (and thread switches) to hit it. RCX must come back as 0.
pub fn around_countdown(iterations: u64) -> [u64; CHECKED] {
    let mut registers = PATTERN;
    registers[1] = iterations;
    around!(registers, "2:", "dec rcx", "jnz 2b");
    registers
}

/// Names the first register that differs from `expected`.
pub fn compare(actual: &[u64; CHECKED], expected: &[u64; CHECKED]) -> Result<(), String> {
    match (0..CHECKED).find(|&i| actual[i] != expected[i]) {
        None => Ok(()),
        Some(i) => Err(alloc::format!(
            "{} is {:#x}, expected {:#x}",
            NAMES[i],
            actual[i],
            expected[i]
        )),
    }
}
