//! The end of the road: what the kernel prints when it cannot go on (a panic, or a CPU
//! exception nobody expected), on both consoles, before halting the CPU.
//!
//! In a test boot (`selftest` or `crashtest=` on the command line) it also exits QEMU with
//! the failure code, so the host sees the failure at once instead of waiting for a timeout.

use crate::cpu::{self, qemu, trap::TrapFrame};
use crate::{console, kprintln};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Writes the name of the running thread (set by the scheduler).
pub type DescribeThread = fn(&mut dyn Write) -> fmt::Result;

static DESCRIBE_THREAD: AtomicUsize = AtomicUsize::new(0);
static EXIT_QEMU_ON_FATAL: AtomicBool = AtomicBool::new(false);
static IN_FATAL: AtomicBool = AtomicBool::new(false);

/// Lets fatal reports name the current thread.
pub fn set_thread_describer(describe: DescribeThread) {
    DESCRIBE_THREAD.store(describe as *const () as usize, Ordering::Release);
}

/// In test boots, a fatal error ends QEMU with [`qemu::ExitCode::Failure`].
pub fn exit_qemu_on_fatal(enabled: bool) {
    EXIT_QEMU_ON_FATAL.store(enabled, Ordering::Release);
}

struct CurrentThread;

impl fmt::Display for CurrentThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let address = DESCRIBE_THREAD.load(Ordering::Acquire);
        if address == 0 {
            return f.write_str("boot");
        }
        // SAFETY: only set_thread_describer stores here, always a DescribeThread.
        let describe: DescribeThread = unsafe { core::mem::transmute(address) };
        describe(f)
    }
}

/// Common start of every fatal report: interrupts off, console lock broken. A fault while
/// reporting a fault stops at once, printing nothing more (printing may be what faulted),
/// rather than looping.
fn enter() {
    x86_64::instructions::interrupts::disable();
    if IN_FATAL.swap(true, Ordering::SeqCst) {
        stop();
    }
    console::take_over_for_fatal();
}

fn leave() -> ! {
    kprintln!("The kernel has stopped. Reset the machine to restart it.");
    stop()
}

/// Ends a test boot with the failure code, so the host need not wait for its timeout;
/// otherwise, or if no isa-debug-exit device answers, halts the CPU.
fn stop() -> ! {
    if EXIT_QEMU_ON_FATAL.load(Ordering::Acquire) {
        qemu::exit(qemu::ExitCode::Failure);
    }
    cpu::halt_forever()
}

/// Reports a panic with its message and source location, then halts.
pub fn panic(info: &core::panic::PanicInfo) -> ! {
    enter();
    kprintln!();
    kprintln!("KERNEL PANIC in thread '{}'", CurrentThread);
    if let Some(location) = info.location() {
        kprintln!(
            "  at {}:{}:{}",
            location.file(),
            location.line(),
            location.column()
        );
    }
    kprintln!("  {}", info.message());
    leave()
}

/// Reports an unexpected CPU exception with the full register state, then halts.
pub fn exception(frame: &TrapFrame, cr2: u64, what: impl fmt::Display) -> ! {
    enter();
    kprintln!();
    kprintln!("CPU EXCEPTION in thread '{}': {}", CurrentThread, what);
    kprintln!(
        "  vector {}  error code {:#x}  RIP {:#018x}  CS {:#x}",
        frame.vector,
        frame.error_code,
        frame.rip,
        frame.cs
    );
    kprintln!(
        "  RSP {:#018x}  RFLAGS {:#018x}  CR2 {:#018x}",
        frame.rsp,
        frame.rflags,
        cr2
    );
    kprintln!(
        "  RAX {:#018x}  RBX {:#018x}  RCX {:#018x}  RDX {:#018x}",
        frame.rax,
        frame.rbx,
        frame.rcx,
        frame.rdx
    );
    kprintln!(
        "  RSI {:#018x}  RDI {:#018x}  RBP {:#018x}  R8  {:#018x}",
        frame.rsi,
        frame.rdi,
        frame.rbp,
        frame.r8
    );
    kprintln!(
        "  R9  {:#018x}  R10 {:#018x}  R11 {:#018x}  R12 {:#018x}",
        frame.r9,
        frame.r10,
        frame.r11,
        frame.r12
    );
    kprintln!(
        "  R13 {:#018x}  R14 {:#018x}  R15 {:#018x}",
        frame.r13,
        frame.r14,
        frame.r15
    );
    kprintln!(
        "  (find the source line: addr2line -e target/x86_64-unknown-none/release/micro-kernel {:#x})",
        frame.rip
    );
    leave()
}
