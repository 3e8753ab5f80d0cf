"""What an exercise check needs: build the tree it runs in, run a unit test written for the
exercise, boot the kernel and talk to it, and say "not yet" with a reason a learner can act on.

A check is a function registered with `@exercise("4.1")` in the chapter's file
(tests/exercises/chNN.py). It raises `NotYet("why")` while the exercise is unsolved and returns
when it is solved. It runs in whatever tree it sits in: the learner's (`make exercise EX=4.1`),
or the scratch copy where tests/exercises/verify.py applies the reference solution.

Unit checks: tests/exercises/unit/N.M.rs is a Rust test module for the exercise. It is copied to
src/exercise_check.rs, which src/lib.rs includes only under `--cfg exercise_check`, so it can use
everything inside the crate, and a check that does not compile on the unsolved tree (it calls what
the exercise adds) fails only itself. These builds go to target/exercise-check, apart from the
normal ones, so the extra cfg costs one full build of the dependencies, once.
"""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))

import qemu  # noqa: E402  (tests/qemu.py, found through the path above)

HOST_TARGET = "x86_64-unknown-linux-gnu"
UNIT_CHECK = os.path.join(ROOT, "src", "exercise_check.rs")

REGISTRY = {}


class NotYet(Exception):
    """The exercise is not solved yet; the message says what is missing."""


def exercise(number):
    """Registers the decorated function as the check of exercise `number` ("4.1")."""

    def register(check):
        assert number not in REGISTRY, f"exercise {number} has two checks"
        REGISTRY[number] = check
        return check

    return register


def run(command, what, env=None, timeout=900):
    """Runs `command` in the tree; a failure is a NotYet naming `what`, with the output's tail."""
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})}, timeout=timeout,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise NotYet(f"{what} failed:\n{tail(result.stdout, 25)}")
    return result.stdout


def build_kernel():
    """`cargo build --release`: the kernel ELF that qemu.build_iso packs."""
    run(["cargo", "build", "--release"], "building the kernel")


def unit(number, test_filter=""):
    """Runs the exercise's unit checks (tests/exercises/unit/NUMBER.rs) inside the crate."""
    source = os.path.join(HERE, "unit", f"{number}.rs")
    shutil.copyfile(source, UNIT_CHECK)
    try:
        output = run(
            ["cargo", "test", "--lib", "--target", HOST_TARGET, "--target-dir",
             os.path.join(ROOT, "target", "exercise-check"), "--", f"exercise_check::{test_filter}"],
            f"the unit checks of exercise {number} (tests/exercises/unit/{number}.rs)",
            env={"RUSTFLAGS": "--cfg exercise_check"},
        )
    finally:
        os.remove(UNIT_CHECK)
    ran = sum(int(n) for n in re.findall(r"test result: ok\. (\d+) passed", output))
    if ran == 0:
        raise NotYet(f"no unit check of exercise {number} ran")


@contextlib.contextmanager
def boot(kernel_args="", wait_for="READY", timeout=90, **qemu_options):
    """Builds the kernel, boots it with `kernel_args` and waits for `wait_for` on serial; yields
    the running qemu.Qemu (its `port` is forwarded to the kernel's port 80)."""
    build_kernel()
    with qemu.Qemu(qemu.build_iso(kernel_args), timeout=timeout + 30, **qemu_options) as vm:
        try:
            vm.wait_for(wait_for, timeout=timeout)
        except AssertionError as error:
            raise NotYet(str(error)) from None
        yield vm


def self_test_log(kernel_args="selftest", timeout=180, **qemu_options):
    """Boots the self-test entry (plus `kernel_args`) to its end; returns the serial log.
    The self-tests must all pass: a solution may not break what worked."""
    build_kernel()
    with qemu.Qemu(qemu.build_iso(kernel_args), timeout=timeout + 30, **qemu_options) as vm:
        status = vm.wait_exit(timeout=timeout)
        log = vm.log()
    if status != qemu.EXIT_PASS:
        failed = re.findall(r"^ktest: (\S+) \.\.\. FAILED.*$", log, re.M)
        raise NotYet(f"the self-tests failed ({', '.join(failed) or f'exit status {status}'}):\n"
                     f"{qemu.tail(log)}")
    return log


def http_get(vm, path, timeout=20):
    """GET `path` from the booted kernel: (status, headers as a lower-case dict, body)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{vm.port}{path}", timeout=timeout) as reply:
            return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def expect_in_log(log, pattern, what):
    """The first match of `pattern` (a regex) in `log`, or NotYet saying `what` is missing."""
    match = re.search(pattern, log, re.M)
    if not match:
        raise NotYet(f"{what}: no line matches {pattern!r} in the log:\n{qemu.tail(log, 15)}")
    return match


def tail(text, lines):
    return "\n".join(text.splitlines()[-lines:])
