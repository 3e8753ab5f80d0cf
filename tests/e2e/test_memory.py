"""The memory manager end to end: the self-tests pass with little, some and a lot of RAM
(32 MiB, 256 MiB, and 5 GiB, which puts 2 GiB above 4 GiB), the boot log reports the frame
and heap figures, and a stack overflow is reported as one, naming the stack."""

import re

from qemu import EXIT_PASS, Qemu, build_iso, crash_boot

MEMORY_SIZES = {"32M": 32, "256M": 256, "5G": 5 * 1024}

FRAMES_LINE = r"memory: (\d+) frames \((\d+) MiB\) managed, (\d+) free; heap (\d+) KiB"
MAP_LINE = r"memory: identity map up to (0x[0-9a-f]+): (\d+) x 2 MiB \+ (\d+) x 4 KiB pages"


def self_test_at(mem):
    with Qemu(build_iso("selftest"), mem=mem, nic=False, timeout=200) as vm:
        status = vm.wait_exit(timeout=190)
        return status, vm.log()


def test_self_tests_pass_at_32m_256m_and_5g():
    """One sub-result per memory size: status 33 and frame figures that match the size."""
    results = []
    for mem, mib in MEMORY_SIZES.items():
        try:
            status, log = self_test_at(mem)
            assert status == EXIT_PASS, f"-m {mem}: exit status {status}:\n{log[-3000:]}"
            frames = re.search(FRAMES_LINE, log)
            assert frames, f"-m {mem}: no frame summary in the log"
            managed_mib = int(frames.group(2))
            # All RAM but the first MiB, the kernel image, firmware areas and the bitmap.
            assert mib - 8 <= managed_mib <= mib, f"-m {mem}: {managed_mib} MiB managed"
            assert int(frames.group(3)) <= int(frames.group(1))
            identity = re.search(MAP_LINE, log)
            assert identity, f"-m {mem}: no identity map summary"
            ram_end = int(identity.group(1), 16)
            if mib > 4096:
                assert ram_end > 1 << 32, f"-m {mem}: map ends at {ram_end:#x}, below 4 GiB"
            print(f"    -m {mem}: {frames.group(0)}")
            results.append((mem, None))
        except AssertionError as error:
            results.append((mem, str(error)))
    return results


def test_boot_stack_overflow_is_reported_naming_the_stack():
    log = crash_boot("stack-overflow")
    assert re.search(r"CPU EXCEPTION in thread '[^']+': stack overflow in stack 'boot'", log), log[-2000:]


def test_kernel_stack_overflow_is_reported_naming_the_stack():
    log = crash_boot("kernel-stack-overflow")
    report = re.search(r"CPU EXCEPTION in thread '[^']+': stack overflow in stack 'crash-test': .* at (0x[0-9a-f]+)", log)
    assert report, log[-2000:]
    assert int(report.group(1), 16) >= 0xffff_c000_0000_0000, "the fault is not in the stack area"
