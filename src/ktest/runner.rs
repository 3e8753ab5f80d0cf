//! Runs every self-test and reports: `ktest: NAME ... ok` or `... FAILED: why`, then
//! `ktest: N passed, M failed`, then exits QEMU (status 33 = all passed, 35 = failures).

use super::{KernelTest, boot_tests, memory_tests, net_tests, nic_tests, sched_tests};
use crate::cpu::qemu::{self, ExitCode};
use crate::kprintln;

/// Every test suite, in boot (layer) order.
const SUITES: &[&[KernelTest]] = &[
    boot_tests::TESTS,
    memory_tests::TESTS,
    sched_tests::TESTS,
    nic_tests::TESTS,
    net_tests::TESTS,
];

pub fn run_all_and_exit() -> ! {
    let (mut passed, mut failed) = (0, 0);
    for test in SUITES.iter().flat_map(|suite| suite.iter()) {
        match (test.run)() {
            Ok(()) => {
                passed += 1;
                kprintln!("ktest: {} ... ok", test.name);
            }
            Err(why) => {
                failed += 1;
                kprintln!("ktest: {} ... FAILED: {}", test.name, why);
            }
        }
    }
    kprintln!("ktest: {passed} passed, {failed} failed");
    crate::console::flush();
    qemu::exit(if failed == 0 {
        ExitCode::Success
    } else {
        ExitCode::Failure
    });
    crate::cpu::halt_forever()
}
