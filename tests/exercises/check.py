"""`make exercise EX=N.M`: runs the check of one exercise of the walkthrough in this tree.

    python3 tests/exercises/check.py 4.1      # done, or not yet and why
    python3 tests/exercises/check.py --list   # every checked exercise

Exit status: 0 done, 1 not yet, 2 no such exercise. The checks live in tests/exercises/chNN.py,
one file per chapter; tests/exercises/verify.py proves each one against its reference solution
in docs/solutions/.
"""

import glob
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import kit  # noqa: E402


def load_checks():
    """Imports every chapter's checks, which registers them in kit.REGISTRY."""
    for path in sorted(glob.glob(os.path.join(HERE, "ch*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    return kit.REGISTRY


def sort_key(number):
    return tuple(int(part) for part in number.split("."))


def main(args):
    checks = load_checks()
    if args == ["--list"]:
        for number in sorted(checks, key=sort_key):
            print(f"{number}  {(checks[number].__doc__ or '').strip().splitlines()[0]}")
        return 0
    if len(args) != 1 or args[0] not in checks:
        known = ", ".join(sorted(checks, key=sort_key))
        print(f"usage: make exercise EX=N.M, with N.M one of: {known}", file=sys.stderr)
        return 2
    number = args[0]
    try:
        checks[number]()
    except kit.NotYet as why:
        print(f"exercise {number}: not yet.\n{why}")
        return 1
    print(f"exercise {number}: done.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
