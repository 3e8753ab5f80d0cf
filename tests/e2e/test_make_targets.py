"""What `make run` and `make debug` tell a learner: a crash test that was reported as designed
ends `make run` with success and says so (tools/boot-verdict.sh), a failed one does not; and
`make debug` refuses to start when its gdb port is taken, naming what holds it
(tools/port-owner.sh), instead of letting gdb attach to an old kernel."""

import os
import signal
import socket
import subprocess
import tempfile

from qemu import BUILD, ROOT, free_port, tail

VERDICT = os.path.join(ROOT, "tools/boot-verdict.sh")


def make(*args, timeout=240):
    """Runs `make ARGS` with no terminal; returns (status, output). On timeout the whole
    process group it started (make, QEMU) is killed."""
    proc = subprocess.Popen(["make", "--no-print-directory", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        raise AssertionError(f"make {' '.join(args)} still running after {timeout} s:\n{tail(output.decode())}")
    return proc.returncode, output.decode("utf-8", "replace")


def test_make_run_says_a_crash_test_was_done_as_designed():
    status, output = make("run", "KERNEL_ARGS=crashtest=page-fault", f"ISO={BUILD}/test-make-run-crash.iso",
                          f"HTTP_PORT={free_port()}")
    assert status == 0, f"make run of a crash test failed ({status}):\n{tail(output)}"
    assert "crash test 'page-fault': done as designed" in output, tail(output)
    assert "Error" not in output, tail(output)
    with open(os.path.join(BUILD, "console.log"), encoding="utf-8", errors="replace") as f:
        console = f.read()
    assert "CPU EXCEPTION" in console and "The kernel has stopped" in console, tail(console)


def verdict(status, console, *kernel_args):
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write(console)
    try:
        result = subprocess.run([VERDICT, str(status), f.name, *kernel_args], capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    return result.returncode, result.stdout


def test_boot_verdicts():
    report = "CPU EXCEPTION in thread 'kmain (#0)': page fault\r\nThe kernel has stopped. Reset the machine.\r\n"
    assert verdict(35, report, "crashtest=page-fault")[0] == 0
    did_not = "KERNEL PANIC in thread 'kmain (#0)'\n  crash test did not crash: unknown crash test \"x\"\nThe kernel has stopped.\n"
    status, said = verdict(35, did_not, "crashtest=x")
    assert status == 1 and "FAILED" in said, said
    assert verdict(35, "", "crashtest=page-fault")[0] == 1, "no report: not a success"
    assert verdict(33, "", "selftest") == (0, "self-test passed\n")
    assert verdict(35, "", "selftest")[0] == 1
    assert verdict(0, "", "ip=10.0.2.15/24", "gw=10.0.2.2") == (0, ""), "Ctrl-A X"
    assert verdict(1, "", "")[0] == 1, "QEMU could not start"


def test_make_debug_names_what_holds_its_port():
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        status, output = make("debug", f"GDB_PORT={port}", f"ISO={BUILD}/test-make-debug.iso")
    assert status != 0, f"make debug started although port {port} was taken:\n{tail(output)}"
    assert f"port {port} is already taken, by PID {os.getpid()}" in output, tail(output)
    assert "qemu-system-x86_64 " not in output.split("already taken")[1], "QEMU was started anyway"
