"""Booting the kernel under QEMU for the end-to-end tests.

Every QEMU started here runs under TCG, has a hard time bound (a watchdog kills it by PID),
writes its serial console to a file the test reads, and forwards a free 127.0.0.1 port to
the guest's port 80. Nothing here sends traffic anywhere but 127.0.0.1, or into a network
namespace of the test's own (`PrivateNetwork`).
"""

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ELF = os.path.join(ROOT, "target/x86_64-unknown-none/release/micro-kernel")
BUILD = os.path.join(ROOT, "build")

# Exit statuses of the self-test boot (src/cpu/qemu.rs: isa-debug-exit, status = v << 1 | 1).
EXIT_PASS = 33
EXIT_FAIL = 35

# What a kernel that went wrong prints (src/fatal.rs).
FATAL_MARKERS = ("KERNEL PANIC", "CPU EXCEPTION")

# UEFI firmware for `firmware="uefi"`: Debian's `ovmf` package (tools/ensure-deps.sh installs
# it). The code is read-only; each run gets its own writable copy of the variable store.
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_port():
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_iso_cache = {}


def build_iso(kernel_args=""):
    """An ISO of the current kernel whose default GRUB entry passes `kernel_args`."""
    if kernel_args in _iso_cache:
        return _iso_cache[kernel_args]
    tag = re.sub(r"[^A-Za-z0-9]+", "-", kernel_args).strip("-") or "default"
    iso = os.path.join(BUILD, f"test-{tag}.iso")
    staging = os.path.join(BUILD, f"stage-test-{tag}")
    subprocess.run(
        [os.path.join(ROOT, "tools/mkiso.sh"), ELF, iso, staging, *kernel_args.split()],
        cwd=ROOT, check=True,
    )
    _iso_cache[kernel_args] = iso
    return iso


class Qemu:
    """One QEMU run. Use as a context manager so it is always killed:

        with Qemu(build_iso("selftest")) as vm:
            vm.wait_for(r"READY")
    """

    def __init__(self, iso, mem="256M", machine=None, nic=True, timeout=120, pcap=None,
                 extra_args=(), udp_forward=None, netdev=None, prefix=(), nic_model="rtl8139",
                 firmware="bios", cpu=None, smp=None, debug_exit=True):
        """`udp_forward`: a host UDP port forwarded to the same guest port. `netdev`: a
        whole -netdev value replacing the user network (e.g. a tap); `prefix`: a command
        QEMU runs under (e.g. `ip netns exec NS`). `nic_model`: the card's QEMU device
        (`rtl8139`, `e1000`, `e1000e`, ...), or None for the machine's default card (the
        82540EM on pc, the 82574L on q35), as a plain `-nic user` line gives. `firmware`:
        "bios" (SeaBIOS, QEMU's default) or "uefi" (OVMF); `cpu`: a -cpu model (e.g.
        "qemu64,-nx"); `smp`: CPUs. `debug_exit=False` leaves out isa-debug-exit: a fatal
        report then halts the kernel and QEMU keeps running, so that the screen can be
        looked at."""
        assert firmware in ("bios", "uefi"), firmware
        self.firmware, self.cpu, self.smp, self.debug_exit = firmware, cpu, smp, debug_exit
        self.iso, self.mem, self.machine, self.nic = iso, mem, machine, nic
        self.nic_model = nic_model
        self.timeout, self.pcap, self.extra_args = timeout, pcap, list(extra_args)
        self.udp_forward, self.netdev, self.prefix = udp_forward, netdev, list(prefix)
        self.workdir = tempfile.mkdtemp(prefix="mk-qemu-")
        self.serial_path = os.path.join(self.workdir, "serial.log")
        self.monitor_path = os.path.join(self.workdir, "monitor.sock")
        self.port = free_port() if nic else None
        self.proc = None
        self.started_at = None
        self._watchdog = None

    def command(self):
        cmd = self.prefix + [
            "qemu-system-x86_64", "-accel", "tcg", "-m", self.mem, "-no-reboot",
            "-display", "none", "-cdrom", self.iso,
            "-serial", f"file:{self.serial_path}",
            "-monitor", f"unix:{self.monitor_path},server,nowait",
        ]
        if self.debug_exit:
            cmd += ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
        if self.machine:
            cmd += ["-M", self.machine]
        if self.cpu:
            cmd += ["-cpu", self.cpu]
        if self.smp:
            cmd += ["-smp", str(self.smp)]
        if self.firmware == "uefi":
            cmd += ["-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
                    "-drive", f"if=pflash,format=raw,file={self.uefi_vars()}"]
        if self.nic:
            netdev = self.netdev or f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.port}-:80"
            if self.udp_forward:
                netdev += f",hostfwd=udp:127.0.0.1:{self.udp_forward}-:{self.udp_forward}"
            if self.nic_model:
                cmd += ["-netdev", netdev, "-device", f"{self.nic_model},netdev=n0"]
            else:
                cmd += ["-nic", netdev]
            if self.pcap:
                cmd += ["-object", f"filter-dump,id=f0,netdev=n0,file={self.pcap}"]
        else:
            cmd += ["-nic", "none"]
        return cmd + self.extra_args

    def uefi_vars(self):
        """This run's own copy of OVMF's variable store (the firmware writes to it)."""
        path = os.path.join(self.workdir, "OVMF_VARS.fd")
        if not os.path.exists(path):
            shutil.copyfile(OVMF_VARS, path)
        return path

    def screendump(self, path):
        """Saves the screen as QEMU shows it (VGA text or framebuffer) as a PPM image;
        returns (width, height, rgb bytes)."""
        self.monitor(f"screendump {path}")
        return read_ppm(path)

    def start(self):
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.workdir, "qemu.err"), "w"))
        self._watchdog = threading.Timer(self.timeout, self.kill)
        self._watchdog.daemon = True
        self._watchdog.start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        if exc[0] is None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return False

    def kill(self):
        """Stops QEMU by its PID: SIGTERM, then SIGKILL after 5 s."""
        if self._watchdog:
            self._watchdog.cancel()
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def log(self):
        """Everything the kernel printed on its serial console so far."""
        try:
            with open(self.serial_path, "rb") as f:
                return f.read().decode("utf-8", "replace").replace("\r\n", "\n")
        except FileNotFoundError:
            return ""

    def elapsed(self):
        return time.monotonic() - self.started_at

    def wait_for(self, pattern, timeout=60):
        """Waits until the serial log matches `pattern` (a regex); returns the match.
        Fails at once if QEMU exits or the kernel reports a fatal error meanwhile."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            text = self.log()
            match = regex.search(text)
            if match:
                return match
            for marker in FATAL_MARKERS:
                if marker in text:
                    raise AssertionError(f"kernel failed while waiting for {pattern!r}:\n{tail(text)}")
            if self.proc.poll() is not None:
                raise AssertionError(f"QEMU exited ({self.proc.returncode}) before {pattern!r}:\n{tail(text)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {pattern!r}:\n{tail(text)}")
            time.sleep(0.05)

    def wait_exit(self, timeout=60):
        """Waits for QEMU to exit by itself; returns its exit status."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"QEMU still running after {timeout} s:\n{tail(self.log())}")

    def monitor(self, command):
        """Runs a QEMU monitor command (for example `set_link n0 off`); returns its output."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.monitor_path)
            read_until_prompt(s)  # the banner and the first prompt, in as many pieces as they come
            s.sendall(command.encode() + b"\n")
            return read_until_prompt(s)

    def assert_no_fatal(self):
        text = self.log()
        for marker in FATAL_MARKERS:
            assert marker not in text, f"serial log shows {marker}:\n{tail(text)}"


def read_ppm(path):
    """A binary PPM (P6, maxval 255) as (width, height, rgb bytes), as QEMU's screendump
    writes it: a header of whitespace-separated fields, then the pixels."""
    with open(path, "rb") as f:
        data = f.read()
    fields, offset = [], 0
    while len(fields) < 4:
        while data[offset:offset + 1].isspace():
            offset += 1
        if data[offset:offset + 1] == b"#":
            offset = data.index(b"\n", offset) + 1
            continue
        end = offset
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[offset:end])
        offset = end
    assert fields[0] == b"P6" and fields[3] == b"255", fields
    width, height = int(fields[1]), int(fields[2])
    pixels = data[offset + 1:offset + 1 + width * height * 3]
    assert len(pixels) == width * height * 3, f"{path}: short PPM"
    return width, height, pixels


def read_until_prompt(sock):
    """Reads from a monitor socket up to and including the next `(qemu)` prompt."""
    out = b""
    while not out.rstrip().endswith(b"(qemu)"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        out += chunk
    return out.decode("utf-8", "replace")


def crash_boot(name, timeout=60, **qemu_options):
    """Boots the `crashtest=NAME` entry, which must end in a fatal report: checks that QEMU
    exited with the failure code and that the report's closing line is there; returns the
    serial log for the caller's own assertions on the report. `qemu_options` go to Qemu
    (firmware, machine, cpu...)."""
    with Qemu(build_iso(f"crashtest={name}"), nic=False, timeout=timeout, **qemu_options) as vm:
        status = vm.wait_exit(timeout=timeout - 10)
        log = vm.log()
    assert status == EXIT_FAIL, f"crashtest={name}: exit status {status}:\n{tail(log)}"
    assert "The kernel has stopped" in log, f"crashtest={name}: no end of report:\n{tail(log)}"
    return log


class PrivateNetwork:
    """A network namespace of our own holding one tap device, `tap0`, at 10.0.2.2/24 with no
    route out: the kernel (booted with ip=10.0.2.15/24 gw=10.0.2.2) is reachable from inside
    it and traffic goes nowhere else. Root only. Use as a context manager, so that the
    namespace (and the tap in it) is always deleted:

        with PrivateNetwork("mk-flood") as net:
            vm = Qemu(iso, netdev=net.tap_netdev(), prefix=net.exec_prefix()).start()
            net.enter()        # this thread now lives in the namespace
    """

    GUEST = "10.0.2.15"
    HOST = "10.0.2.2"
    CLONE_NEWNET = 0x40000000

    def __init__(self, prefix):
        # Unique to this process: several test runs may share the machine.
        self.name = f"{prefix}-{os.getpid()}"
        self.tap = "tap0"

    def __enter__(self):
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        try:
            for command in (["link", "set", "lo", "up"],
                            ["tuntap", "add", "dev", self.tap, "mode", "tap"],
                            ["addr", "add", f"{self.HOST}/24", "dev", self.tap],
                            ["link", "set", self.tap, "up"]):
                subprocess.run(["ip", "-n", self.name, *command], check=True)
            routes = subprocess.run(["ip", "-n", self.name, "-4", "route", "show"],
                                    capture_output=True, text=True, check=True).stdout.split("\n")
            routes = [r for r in routes if r.strip()]
            assert all(r.startswith(f"10.0.2.0/24 dev {self.tap}") for r in routes), routes
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        subprocess.run(["ip", "netns", "del", self.name], check=False)
        return False

    def exec_prefix(self):
        """The command prefix that runs a program inside the namespace."""
        return ("ip", "netns", "exec", self.name)

    def tap_netdev(self):
        """A -netdev value for QEMU running inside the namespace (`exec_prefix`)."""
        return f"tap,id=n0,ifname={self.tap},script=no,downscript=no"

    def add_address(self, address):
        """Gives the tap one more address in 10.0.2.0/24: more client addresses for a test that
        needs many (the server caps connections per client address)."""
        subprocess.run(["ip", "-n", self.name, "addr", "add", f"{address}/24", "dev", self.tap],
                       check=True)

    def remove_address(self, address):
        """Takes an address given by `add_address` away again: whoever used it vanishes, and
        what the guest sends to it is dropped by the host without an answer."""
        subprocess.run(["ip", "-n", self.name, "addr", "del", f"{address}/24", "dev", self.tap],
                       check=True)

    def set_link(self, up):
        """Takes the tap down (every frame to and from the guest is lost) or up again."""
        subprocess.run(["ip", "-n", self.name, "link", "set", self.tap, "up" if up else "down"],
                       check=True)

    def enter(self):
        """Moves the calling thread into the namespace (setns(2)); sockets it opens from now
        on live there. Sockets opened before stay where they were."""
        libc = ctypes.CDLL(None, use_errno=True)
        with open(f"/var/run/netns/{self.name}") as ns:
            if libc.setns(ns.fileno(), self.CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")

    def tap_counters(self):
        """The tap's statistics: what it carried to QEMU (tx) and from it (rx)."""
        names = ("tx_packets", "tx_dropped", "rx_packets")
        out = subprocess.run(["ip", "netns", "exec", self.name, "cat",
                              *[f"/sys/class/net/{self.tap}/statistics/{n}" for n in names]],
                             capture_output=True, text=True, check=True).stdout.split()
        return dict(zip(names, map(int, out)))


def tail(text, lines=30):
    return "\n".join(text.splitlines()[-lines:])
