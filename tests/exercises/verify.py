"""Proves every checked exercise (run by `make test`): on a scratch copy of the tree, the check
must fail on the unsolved tree and pass once docs/solutions/N.M.patch is applied. So every
exercise is solvable, every check tells solved from unsolved, and a change that breaks a
solution or makes a check pass by itself is caught.

    python3 tests/exercises/verify.py          # every exercise
    python3 tests/exercises/verify.py 4.1 7.2  # some of them

The scratch copy is build/exercise-scratch; its target/ stays between runs, so after the first
run each exercise costs an incremental build and its check. Ends with "exercises: N passed,
M failed", one count per exercise.
"""

import filecmp
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRATCH = os.path.join(ROOT, "build", "exercise-scratch")
SOLUTIONS = os.path.join(ROOT, "docs", "solutions")
# Left out of the copy: build outputs (the scratch keeps its own target/), and git's data.
NOT_COPIED = {"target", "build", ".git", "book"}

sys.path.insert(0, HERE)
from check import load_checks, sort_key  # noqa: E402


def refresh_scratch():
    """Makes build/exercise-scratch the tree as it is now, keeping its target/. The scratch is a
    git repository of its own (with no commits), so that `git apply` patches it and not the
    repository around it.

    Files are synchronised, not copied afresh: a file whose content did not change keeps its
    time stamp, and a changed file gets a new one. Cargo decides what to rebuild by comparing
    time stamps, so a copy that kept the tree's (older) times would leave a binary built from
    the last solution applied here looking up to date."""
    os.makedirs(SCRATCH, exist_ok=True)
    if not os.path.isdir(os.path.join(SCRATCH, ".git")):
        subprocess.run(["git", "init", "-q", SCRATCH], check=True)
    stamp = os.path.join(SCRATCH, ".git", "synchronised")
    synchronise(ROOT, SCRATCH, skip=NOT_COPIED)
    if not os.path.exists(stamp):
        # A scratch copied by an older verify.py kept the tree's time stamps: renew them all once.
        for folder, _, files in os.walk(SCRATCH):
            if os.path.relpath(folder, SCRATCH).split(os.sep)[0] not in NOT_COPIED:
                for name in files:
                    os.utime(os.path.join(folder, name))
        open(stamp, "w").close()


def synchronise(source, target, skip=()):
    """Makes the folder `target` hold what `source` holds (leaving out the names in `skip`
    and __pycache__), rewriting only the files that differ."""
    skip = set(skip) | {"__pycache__"}
    names = {name for name in os.listdir(source) if name not in skip}
    for name in os.listdir(target):
        path = os.path.join(target, name)
        if name not in skip and (name not in names or os.path.islink(path)
                                 or os.path.isdir(path) != os.path.isdir(os.path.join(source, name))):
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
    for name in names:
        here, there = os.path.join(source, name), os.path.join(target, name)
        if os.path.islink(here):
            os.symlink(os.readlink(here), there)
        elif os.path.isdir(here):
            os.makedirs(there, exist_ok=True)
            synchronise(here, there)
        elif not (os.path.exists(there) and filecmp.cmp(here, there, shallow=False)):
            shutil.copy(here, there)


def check(number):
    """Runs the check in the scratch tree: (exit status, output)."""
    result = subprocess.run([sys.executable, "tests/exercises/check.py", number], cwd=SCRATCH,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return result.returncode, result.stdout


def git_apply(patch, reverse=False):
    command = ["git", "apply", "--whitespace=nowarn"] + (["-R"] if reverse else []) + [patch]
    return subprocess.run(command, cwd=SCRATCH, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


def unsolved_problem(number):
    """None if the exercise's check fails on the unsolved tree; otherwise what went wrong."""
    if not os.path.exists(os.path.join(SOLUTIONS, f"{number}.patch")):
        return f"no reference solution docs/solutions/{number}.patch"
    status, output = check(number)
    if status != 1:
        return f"the check does not fail on the unsolved tree (exit {status}):\n{output}"
    return None


def solved_problem(number):
    """None if the exercise's check passes with its reference solution applied."""
    patch = os.path.join(SOLUTIONS, f"{number}.patch")
    applied = git_apply(patch)
    if applied.returncode != 0:
        return f"docs/solutions/{number}.patch no longer applies:\n{applied.stdout}"
    try:
        status, output = check(number)
        if status != 0:
            return f"the check fails with the reference solution applied:\n{output}"
    finally:
        git_apply(patch, reverse=True)
    return None


def main(numbers):
    """Two rounds: every check on the unsolved tree first, then each with its solution. The
    unsolved tree is the same for all, so the first round builds the kernel once; taking each
    exercise unsolved-then-solved would rebuild it twice per exercise (a reverted patch leaves
    new time stamps behind, and cargo rebuilds on those)."""
    checks = load_checks()
    numbers = numbers or sorted(checks, key=sort_key)
    refresh_scratch()
    seconds, problems = {}, {}
    for number in numbers:
        start = time.monotonic()
        problems[number] = (unsolved_problem(number) if number in checks
                            else f"no check for exercise {number}")
        seconds[number] = time.monotonic() - start
    passed = failed = 0
    for number in numbers:
        start = time.monotonic()
        problem = problems[number] or solved_problem(number)
        seconds[number] += time.monotonic() - start
        if problem is None:
            passed += 1
            print(f"exercises: {number} ... ok ({seconds[number]:.0f} s)", flush=True)
        else:
            failed += 1
            print(f"exercises: {number} ... FAILED\n{problem}", flush=True)
    print(f"exercises: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
