"""A small test runner for the end-to-end tests (Python stdlib only).

Runs every tests/e2e/test_*.py (or the files named on the command line): in each module,
`setup_module()` if present, then every function whose name starts with `test_`, in file
order, then `teardown_module()`. A test may also report sub-results by returning a list of
(name, error-or-None) pairs (the self-test boot reports each in-kernel test that way).
Prints one line per test and ends with "e2e: N passed, M failed".
"""

import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(paths):
    passed = failed = 0

    def report(name, error, seconds):
        nonlocal passed, failed
        if error is None:
            passed += 1
            print(f"e2e: {name} ... ok ({seconds:.1f} s)", flush=True)
        else:
            failed += 1
            print(f"e2e: {name} ... FAILED\n{error}", flush=True)

    for path in paths:
        module = load(path)
        prefix = module.__name__
        try:
            if hasattr(module, "setup_module"):
                module.setup_module()
        except Exception:
            report(f"{prefix}::setup_module", traceback.format_exc(), 0)
            continue
        tests = [(n, f) for n, f in vars(module).items() if n.startswith("test_") and callable(f)]
        for name, function in tests:
            start = time.monotonic()
            try:
                result = function()
            except Exception:
                report(f"{prefix}::{name}", traceback.format_exc(), time.monotonic() - start)
                continue
            seconds = time.monotonic() - start
            if isinstance(result, list):
                for sub_name, error in result:
                    report(f"{prefix}::{name}::{sub_name}", error, seconds)
            else:
                report(f"{prefix}::{name}", None, seconds)
        if hasattr(module, "teardown_module"):
            try:
                module.teardown_module()
            except Exception:
                report(f"{prefix}::teardown_module", traceback.format_exc(), 0)
    print(f"e2e: {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    args = sys.argv[1:] or sorted(
        os.path.join(HERE, f) for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    sys.exit(main(args))
