"""The same ISO under UEFI (OVMF, Debian's `ovmf` package) on the q35 and pc chipsets: the
self-tests pass, the web server answers, and the boot log is on the framebuffer, glyph for
glyph, where the console says it drew it. And under a BIOS the screen stays in VGA text mode
with the same log."""

import re
import time
import urllib.request

from qemu import EXIT_PASS, Qemu, build_iso, tail
from screen import (CONSOLE_LINE, Psf1Font, Screendump, expected_rows, kernel_text,
                    read_framebuffer_rows, terminal_rows, vga_text_rows)

MACHINES = ("q35", "pc")
WHITE, RED, YELLOW = (0xFF, 0xFF, 0xFF), (0xAA, 0x00, 0x00), (0xFF, 0xFF, 0x55)


def get(vm, path, timeout=20):
    with urllib.request.urlopen(f"http://127.0.0.1:{vm.port}{path}", timeout=timeout) as answer:
        return answer.status, answer.read()


def first_200(vm, deadline_s):
    """Seconds from QEMU's start to the first 200 for GET /, asking every 50 ms."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            if get(vm, "/", timeout=2)[0] == 200:
                return vm.elapsed()
        except OSError:
            pass
        assert vm.proc.poll() is None, f"QEMU exited:\n{tail(vm.log())}"
        time.sleep(0.05)
    raise AssertionError(f"no 200 within {deadline_s} s:\n{tail(vm.log())}")


def screendump_until(vm, path, matches, timeout=10):
    """Screendumps until `matches(shot)` is true (the console thread may still be drawing
    the last line the serial log shows); returns the last one."""
    end = time.monotonic() + timeout
    while True:
        shot = Screendump(*vm.screendump(path))
        if matches(shot) or time.monotonic() > end:
            return shot
        time.sleep(0.2)


def wait_for_report(vm, timeout):
    """Waits for the end of a fatal report on serial (Qemu.wait_for would stop at its start):
    its last line whole, with its line end (the serial file grows a byte at a time)."""
    end = time.monotonic() + timeout
    while "The kernel has stopped. Reset the machine to restart it.\n" not in vm.log():
        assert time.monotonic() < end and vm.proc.poll() is None, f"no fatal report:\n{tail(vm.log())}"
        time.sleep(0.1)
    return vm.log()


def framebuffer_geometry(log):
    console = CONSOLE_LINE.search(log)
    assert console, f"no framebuffer console line:\n{tail(log)}"
    width, height, _address, _bpp, columns, rows, glyph_w, glyph_h, x0, y0 = console.groups()
    return (int(width), int(height)), (int(columns), int(rows)), (int(glyph_w), int(glyph_h)), (int(x0), int(y0))


def test_self_tests_pass_under_uefi():
    """One sub-result per chipset."""
    results = []
    for machine in MACHINES:
        try:
            with Qemu(build_iso("selftest"), firmware="uefi", machine=machine, timeout=300) as vm:
                status = vm.wait_exit(timeout=290)
                log = vm.log()
            summary = re.search(r"^ktest: (\d+) passed, (\d+) failed$", log, re.M)
            assert summary and status == EXIT_PASS, f"status {status}, {summary and summary.group(0)}:\n{tail(log)}"
            assert re.search(r"console: COM1, framebuffer \d+x\d+", log), "no framebuffer console"
            results.append((machine, None))
        except AssertionError as error:
            results.append((machine, str(error)))
    return results


def test_web_server_and_screen_under_uefi():
    """One sub-result per chipset: the home page, the API and /big.bin answer; the
    framebuffer shows the tail of the boot log, exactly as the serial log has it."""
    font = Psf1Font()
    results = []
    for machine in MACHINES:
        try:
            with Qemu(build_iso(""), firmware="uefi", machine=machine, timeout=180) as vm:
                seconds = first_200(vm, 150)
                print(f"    {machine}: QEMU start to the first 200 under OVMF: {seconds:.2f} s")
                status, body = get(vm, "/api/stats")
                assert status == 200 and b"uptime_ms" in body
                status, body = get(vm, "/big.bin")
                assert status == 200 and body == bytes(i % 251 for i in range(1 << 20))
                vm.wait_for(r"READY", timeout=30)
                log = vm.log()
                (width, height), (columns, rows), glyph, origin = framebuffer_geometry(log)
                assert glyph == (8, font.height)
                # What the screen should show is read from the serial log at each look: a
                # line logged meanwhile (by another thread) goes to both.
                compared = {}

                def screen_matches_log(shot):
                    compared["want"] = expected_rows(vm.log(), columns, rows)
                    return read_framebuffer_rows(shot, font, columns, rows, origin)[0] == compared["want"]

                shot = screendump_until(vm, f"{vm.workdir}/screen.ppm", screen_matches_log)
                assert (shot.width, shot.height) == (width, height), (shot.width, shot.height)
                want = compared["want"]
                got, _ = read_framebuffer_rows(shot, font, columns, rows, origin)
                wrong = [(r, want[r], got[r]) for r in range(rows) if got[r] != want[r]]
                assert not wrong, f"{len(wrong)} rows differ from the serial log, first: {wrong[:3]}"
                vm.assert_no_fatal()
            results.append((machine, None))
        except AssertionError as error:
            results.append((machine, str(error)))
    return results


def test_fatal_report_on_the_framebuffer_from_the_first_line():
    """A fault in memory setup under UEFI, with nothing to end QEMU: the screen keeps the
    whole short log, from its first line at the pixel the console named, and the report in
    white on red."""
    font = Psf1Font()
    with Qemu(build_iso("crashtest=memory-setup"), firmware="uefi", machine="q35", nic=False,
              debug_exit=False, timeout=120) as vm:
        log = wait_for_report(vm, timeout=100)
        (_w, _h), (columns, rows), _glyph, origin = framebuffer_geometry(log)
        laid_out = [row.rstrip() for row in terminal_rows(kernel_text(log), columns)]
        assert len(laid_out) <= rows, f"the log ({len(laid_out)} rows) scrolled: the first line is gone"
        last = laid_out[-2]
        shot = screendump_until(
            vm, f"{vm.workdir}/screen.ppm",
            lambda s: read_framebuffer_rows(s, font, columns, len(laid_out), origin)[0][-2] == last)
    assert shot.lit_pixels() > 10_000, "the screen is blank"
    got, colours = read_framebuffer_rows(shot, font, columns, len(laid_out), origin)
    first = laid_out[0]
    assert first.startswith("[") and "console: COM1, framebuffer" in first, first
    assert got[0] == first, f"row 0 at pixel {origin} shows {got[0]!r}, not the first line {first!r}"
    assert got == laid_out, [(r, a, b) for r, (a, b) in enumerate(zip(laid_out, got)) if a != b][:3]
    report = next(r for r, text in enumerate(laid_out) if text.startswith("CPU EXCEPTION"))
    # The report's characters are white on red (past the end of its text the row stays as
    # the cleared screen was: black).
    assert (RED, WHITE) in colours[report], colours[report]
    assert not [c for c in colours[report] if c[0] != RED and c[1] is not None], colours[report]
    assert all((RED, None) not in colours[r] for r in range(report - 1)), "red before the report"


def test_bios_keeps_vga_text_mode():
    """Under SeaBIOS the same ISO keeps VGA text mode (gfxpayload=text): the screendump is
    the 720x400 text-mode picture, and text memory holds the tail of the boot log."""
    with Qemu(build_iso(""), timeout=90) as vm:
        vm.wait_for(r"READY", timeout=60)
        log = vm.log()
        assert "console: COM1, VGA text mode at 0xb8000 (80 x 25)" in log
        end = time.monotonic() + 10
        while True:
            # Read at each look: a line logged meanwhile goes to both.
            want = expected_rows(vm.log(), 80, 25, from_top=False)
            text, attributes = vga_text_rows(vm)
            if text == want or time.monotonic() > end:
                break
            time.sleep(0.2)
        shot = Screendump(*vm.screendump(f"{vm.workdir}/screen.ppm"))
    assert (shot.width, shot.height) == (720, 400), (shot.width, shot.height)
    assert shot.lit_pixels() > 5_000, "the screen is blank"
    assert text == want, [(r, a, b) for r, (a, b) in enumerate(zip(want, text)) if a != b][:3]
    ready = next(r for r, line in enumerate(text) if "INFO  READY" in line)
    assert set(attributes[ready][:20]) == {0x07}, "an info line is not light grey on black"
