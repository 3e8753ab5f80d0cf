//! Crash tests: faults the kernel cannot survive, provoked on purpose (`crashtest=NAME` on the
//! command line) so that tests/crash.sh can check the report they print.

use alloc::string::String;

/// Provokes the fault named `name`. Returns only for an unknown name.
pub fn run(name: &str) -> String {
    log::info!("crashtest: provoking {name:?}");
    match name {
        "panic" => panic!("crash test: deliberate panic"),
        "page-fault" => {
            // SAFETY: not sound on purpose: an unmapped address, to test the fatal report.
            unsafe { core::ptr::write_volatile(0x0000_7000_0000_0000 as *mut u64, 1) };
            String::from("the write did not fault")
        }
        other => alloc::format!("unknown crash test {other:?}"),
    }
}
