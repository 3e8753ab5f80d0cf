//! In-kernel self-tests: the same kernel, booted with `selftest` on its command line, runs
//! every test below on real (emulated) hardware, prints one line per test on the serial port,
//! then exits QEMU through isa-debug-exit with pass or fail. tests/e2e/test_boot.py reads both
//! (and tests/e2e/test_memory.py, at three memory sizes).

#[cfg(target_os = "none")]
mod boot_tests;
#[cfg(target_os = "none")]
mod crash;
#[cfg(target_os = "none")]
mod memory_tests;
#[cfg(target_os = "none")]
mod net_tests;
#[cfg(target_os = "none")]
mod nic_tests;
#[cfg(target_os = "none")]
mod registers;
#[cfg(target_os = "none")]
mod runner;
#[cfg(target_os = "none")]
mod sched_tests;

#[cfg(target_os = "none")]
pub use crash::run as run_crash_test;
#[cfg(target_os = "none")]
pub use runner::run_all_and_exit;

/// One self-test: a name and a function that returns what went wrong, if anything.
#[cfg(target_os = "none")]
pub struct KernelTest {
    pub name: &'static str,
    pub run: fn() -> Result<(), alloc::string::String>,
}

/// Fails a self-test with a formatted message unless `condition` holds.
#[macro_export]
macro_rules! ktest_assert {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err($crate::alloc_format!($($message)+));
        }
    };
}
