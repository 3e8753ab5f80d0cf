"""Booting the kernel under Bochs with its e1000 (an 82540EM model of its own, stricter than
QEMU's in places), for tests/e2e/test_bochs.py and `make bochs`.

Debian's Bochs starts in its debugger: a command file holding `c` continues at once. It has
no headless display, so it runs with the `term` display library inside `script`, which gives
it a terminal. Serial output goes to a file; the e1000 sits on Bochs' own slirp network,
whose configuration file forwards a free host port to the guest's port 80. Every run has a
time bound and is killed by its process group (Bochs runs under `script`).
"""

import os
import signal
import subprocess
import tempfile
import threading
import time

from qemu import FATAL_MARKERS, free_port, tail

BIOS = "/usr/share/bochs/BIOS-bochs-latest"
VGABIOS = "/usr/share/vgabios/vgabios.bin"
MAC = "52:54:00:12:34:56"


def config(iso, serial, slirp, log):
    """A bochsrc: 256 MiB, a 64-bit CPU with NX, the ISO as the CD-ROM it boots from, COM1
    into a file, an e1000 in PCI slot 1 on slirp, no sound and no speaker."""
    return f"""megs: 256
cpu: model=corei7_sandy_bridge_2600k, count=1, ips=100000000
romimage: file={BIOS}
vgaromimage: file={VGABIOS}
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path={iso}, status=inserted
boot: cdrom
display_library: term
com1: enabled=1, mode=file, dev={serial}
pci: enabled=1, chipset=i440fx, slot1=e1000
e1000: enabled=1, mac={MAC}, ethmod=slirp, script={slirp}
speaker: enabled=0
sound: driver=dummy
log: {log}
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
"""


class Bochs:
    """One Bochs run; use as a context manager so that it is always killed."""

    def __init__(self, iso, timeout=300, port=None):
        self.iso, self.timeout = os.path.abspath(iso), timeout
        self.port = port or free_port()
        self.workdir = tempfile.mkdtemp(prefix="mk-bochs-")
        self.serial_path = os.path.join(self.workdir, "serial.log")
        self.proc = None
        self._watchdog = None

    def start(self, interactive=False):
        path = lambda name: os.path.join(self.workdir, name)  # noqa: E731
        with open(path("slirp.conf"), "w") as f:
            # Bochs reads the file only if its first line is exactly this.
            f.write(f"# slirp config\nhostfwd = tcp:127.0.0.1:{self.port}-:80\n")
        with open(path("bochsrc"), "w") as f:
            f.write(config(self.iso, self.serial_path, path("slirp.conf"), path("bochs.log")))
        with open(path("continue.rc"), "w") as f:
            f.write("c\n")
        bochs = f"bochs -q -f {path('bochsrc')} -rc {path('continue.rc')}"
        if interactive:
            return subprocess.call(bochs, shell=True)
        self.started_at = time.monotonic()
        # `script` gives Bochs the terminal its display needs, sized (a 0x0 one crashes it).
        self.proc = subprocess.Popen(
            ["script", "-qfec", f"stty cols 80 rows 25; {bochs}", "/dev/null"],
            stdin=subprocess.DEVNULL, stdout=open(path("terminal.out"), "w"),
            stderr=subprocess.STDOUT, env={**os.environ, "TERM": "xterm"},
            start_new_session=True)
        self._watchdog = threading.Timer(self.timeout, self.kill)
        self._watchdog.daemon = True
        self._watchdog.start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        return False

    def kill(self):
        """Stops `script` and Bochs under it: SIGTERM to the process group, then SIGKILL."""
        if self._watchdog:
            self._watchdog.cancel()
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def log(self):
        try:
            with open(self.serial_path, "rb") as f:
                return f.read().decode("utf-8", "replace").replace("\r\n", "\n")
        except FileNotFoundError:
            return ""

    def wait_for(self, text, timeout):
        """Waits until the serial log holds `text`; fails at once on a fatal report or exit."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            log = self.log()
            if any(marker in log for marker in FATAL_MARKERS):
                raise AssertionError(f"kernel failed under Bochs:\n{tail(log)}")
            if self.proc.poll() is not None:
                raise AssertionError(f"Bochs exited ({self.proc.returncode}) before {text!r}:\n{tail(log)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} after {timeout} s under Bochs:\n{tail(log)}")
            time.sleep(0.2)


if __name__ == "__main__":
    # `make bochs`: the ISO under Bochs in this terminal (the debugger's `c` runs it; Ctrl-C
    # then `q` quits), the e1000's port forwarded.
    import sys

    machine = Bochs(sys.argv[1], port=int(sys.argv[2]) if len(sys.argv) > 2 else None)
    print(f"Booting {sys.argv[1]} in Bochs; serial log in {machine.serial_path}; "
          f"open http://127.0.0.1:{machine.port}/ once it logs READY.")
    sys.exit(machine.start(interactive=True))
