#!/usr/bin/env bash
# boot-verdict.sh STATUS CONSOLE_LOG [KERNEL_ARGS...] — says in words how a `make run` boot
# ended, and exits with make's status for it.
#
# QEMU's exit status: 0 when the user quit (Ctrl-A X); in a test boot, 33 or 35 when the kernel
# wrote its verdict to isa-debug-exit (src/cpu/qemu.rs): the self-tests passed or failed, or a
# fatal report was printed (src/fatal.rs). For a crash test (crashtest=NAME) that report is the
# point: the deliberate fault was caught and reported, which is a success, unless the report
# says the fault never happened.
set -euo pipefail
status=$1 log=$2
shift 2
crash_test="" self_test=""
for arg in "$@"; do
    case $arg in
        crashtest=*) crash_test=${arg#crashtest=} ;;
        selftest) self_test=yes ;;
    esac
done
console() { tr -d '\r' <"$log" 2>/dev/null || true; }

if [[ -n $crash_test && $status == 35 ]]; then
    if console | grep -q "crash test did not crash"; then
        echo "crash test '$crash_test' FAILED: the kernel did not crash (the panic above says why)."
        exit 1
    fi
    if console | grep -qE "^(CPU EXCEPTION|KERNEL PANIC)" && console | grep -q "The kernel has stopped"; then
        echo "crash test '$crash_test': done as designed. The kernel caught the deliberate fault,"
        echo "printed the report above and stopped QEMU: nothing is wrong."
        exit 0
    fi
    echo "crash test '$crash_test': QEMU exited with 35 but no report reached $log."
    exit 1
fi
if [[ -n $self_test && $status == 33 ]]; then
    echo "self-test passed"
    exit 0
fi
if [[ -n $self_test && $status == 35 ]]; then
    echo "self-test FAILED: the ktest lines above marked FAILED say which."
    exit 1
fi
exit "$status"
