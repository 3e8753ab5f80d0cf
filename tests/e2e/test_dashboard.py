"""The dashboard in a real browser: headless Chromium loads the kernel's home page, the
figures must appear and change as the page polls /api/stats, the page must log no script
error (a Content-Security-Policy violation is one), and a screenshot is saved to
build/dashboard.png. Then the kernel is frozen (the QEMU monitor's `stop`): the badge must turn
"stale", and "live" again after `cont`.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe): JSON
messages separated by NUL bytes, commands written to its fd 3, answers read from its fd 4."""

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

from qemu import BUILD, Qemu, build_iso

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--remote-debugging-pipe",
]


class Browser:
    """A headless Chromium and a minimal DevTools client for one page."""

    def __init__(self):
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        assert binary, "chromium is not installed (apt-get install chromium)"
        self.profile = tempfile.mkdtemp(prefix="mk-chromium-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def wire_fds():
            # Move both ends out of the way first: either may already sit on fd 3 or 4.
            commands = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            answers = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(commands, 3)
            os.dup2(answers, 4)

        self.proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds, pass_fds=(3, 4, to_browser_r, from_browser_w))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.next_id, self.replies, self.events = 0, {}, []
        self.lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.session = None

    def _read(self):
        buffer = b""
        while True:
            chunk = os.read(self.from_browser, 65536)
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                with self.lock:
                    if "id" in message:
                        self.replies[message["id"]] = message
                    else:
                        self.events.append(message)
                    self.lock.notify_all()

    def send(self, method, params=None, session=True, timeout=30):
        with self.lock:
            self.next_id += 1
            message_id = self.next_id
        message = {"id": message_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self.lock:
            while message_id not in self.replies:
                left = deadline - time.monotonic()
                assert left > 0, f"no answer to {method}"
                self.lock.wait(left)
            reply = self.replies.pop(message_id)
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply["result"]

    def open_page(self):
        targets = self.send("Target.getTargets", session=False)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": page["targetId"], "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(domain)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 1400, "deviceScaleFactor": 1, "mobile": False})

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def errors(self):
        """Script exceptions, console.error calls and failed loads the page reported."""
        found = []
        with self.lock:
            for event in self.events:
                method, params = event.get("method"), event.get("params", {})
                if method == "Runtime.exceptionThrown":
                    found.append(params["exceptionDetails"].get("text", "exception"))
                elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                    found.append(repr(params.get("args")))
                elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                    found.append(params["entry"]["text"])
        return found

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


FIGURES = """typeof samples === 'undefined' ? null : JSON.stringify({
  live: document.getElementById('live').textContent,
  uptime: document.getElementById('uptime').textContent,
  requests: document.getElementById('http-requests').textContent,
  switches: document.getElementById('context-switches').textContent,
  address: document.getElementById('nic-address').textContent,
  mac: document.getElementById('nic-mac').textContent,
  threads: document.querySelectorAll('#threads tr').length,
  pci: document.querySelectorAll('#pci tr').length,
  pci_bars: [...document.querySelectorAll('#pci td.pci-bars')].map(td => td.textContent),
  rps: document.getElementById('rps').textContent,
  samples: samples.length,
  stale: document.body.classList.contains('stale'),
  chapters: [...document.querySelectorAll('a.doc')].map(a => a.getAttribute('href')),
})"""


def wait_for_figures(browser, condition, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        text = browser.evaluate(FIGURES)  # null until the page has loaded
        figures = json.loads(text) if text else None
        if figures and condition(figures):
            return figures
        assert time.monotonic() < deadline, f"dashboard figures never became right: {figures}"
        time.sleep(0.25)


def test_dashboard_shows_live_figures_without_script_errors():
    with Qemu(build_iso(""), timeout=180) as vm:
        vm.wait_for(r"READY", timeout=90)
        browser = Browser()
        try:
            browser.open_page()
            browser.send("Page.navigate", {"url": f"http://127.0.0.1:{vm.port}/"})
            first = wait_for_figures(browser, lambda f: f["live"] == "live" and f["uptime"] != "–")
            assert first["address"] == "10.0.2.15/24", first
            assert first["mac"] == "52:54:00:12:34:56", first
            assert first["threads"] >= 10, first
            later = wait_for_figures(
                browser, lambda f: f["uptime"] != first["uptime"] and f["requests"] != first["requests"]
                and f["rps"] != "–")
            pci = wait_for_figures(browser, lambda f: f["pci"] >= 5)
            assert any(bars.startswith("BAR0 I/O 0xc000 (256), BAR1 mem 0x") for bars in pci["pci_bars"]), pci
            print(f"    first {first['uptime']} up, {first['requests']} requests; "
                  f"then {later['uptime']}, {later['requests']} requests, {later['rps']} requests/s; "
                  f"{pci['pci']} PCI functions")
            assert all(href.startswith("/docs/") and href.endswith(".md") for href in later["chapters"])
            wait_for_figures(browser, lambda f: f["samples"] >= 3)  # a few points on the chart
            shot = browser.send("Page.captureScreenshot", {"format": "png"})
            os.makedirs(BUILD, exist_ok=True)
            with open(os.path.join(BUILD, "dashboard.png"), "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            errors = browser.errors()
            assert not errors, f"the page logged errors: {errors}"

            # A kernel that stops answering: QEMU's vCPU stopped, its network still accepting.
            vm.monitor("stop")
            stopped = time.monotonic()
            stale = wait_for_figures(browser, lambda f: f["live"] == "stale" and f["stale"], timeout=15)
            noticed = time.monotonic() - stopped
            vm.monitor("cont")
            resumed = time.monotonic()
            wait_for_figures(browser, lambda f: f["live"] == "live" and not f["stale"]
                             and f["uptime"] != stale["uptime"], timeout=20)
            print(f"    kernel stopped: badge 'stale' after {noticed:.1f} s; "
                  f"'live' again {time.monotonic() - resumed:.1f} s after cont")
        finally:
            browser.close()
        vm.assert_no_fatal()
