"""The chapters' excerpts of real output, compared with a real boot.

A chapter that quotes what the kernel or QEMU prints marks the excerpt with a comment right
before its code block, naming the command a learner types to see it:

    <!-- output of: make run -->                                the serial console, up to READY
    <!-- output of: make run QEMU_EXTRA="-machine type=q35" -->
    <!-- output of: make run KERNEL_ARGS=crashtest=page-fault -->   until QEMU exits
    <!-- output of: make run, (qemu) info mem -->               a monitor command once READY
    <!-- output of: make run KERNEL_ARGS=trace=request, curl / -->   the log after one request
    <!-- output of: make capture -->                            one request on the wire, decoded

The comment does not show in the book. `, curl PATH` sends one request once the kernel is READY
(`GET PATH`, with the head `curl` sends, as REQUEST_HEAD below), reads the whole answer, and
compares the log as soon as it holds the excerpt, waiting at most REQUEST_WAIT_S for it. The check boots each configuration once, as `make run`
does (the pc machine, an RTL8139 on QEMU's user network, MEM=256M unless the command says
otherwise; KERNEL_ARGS, QEMU_EXTRA, MACHINE and NIC as given), and requires every line of the block to be a
line of the real output, addresses and all, and lines that follow each other in the block to
follow each other there. Four conventions keep excerpts readable:
- a line `...` skips any number of lines;
- a `…` inside a line stands for any text of the real line: a value that changes from run to
  run (a ring offset, a transmit slot); the rest of the line must match as written, and
  `--update` leaves such a line as it is;
- text after a line's real content, two or more spaces on, is the author's note
  (`...000ff000 -rw     first MiB`);
- the log's `[  0.005] INFO  ` prefix and blank lines are left out on both sides.

`make capture` (tests/capture.py) boots the kernel with a traffic capture, makes one request
and prints the frames decoded. Which frames go out depends a little on timing (a delayed ACK
of its own when the answer is late), so an excerpt of a capture is compared with up to
CAPTURE_ATTEMPTS captures and passes when one of them matches.

`make test` runs the check (tests/e2e/test_docs_output.py), and so does
`python3 tests/check_docs.py --boot`. When the kernel changes what it prints (an address moves
as the image grows), `python3 tests/check_docs.py --update` boots the same configurations and
rewrites each block from the real output, keeping the notes, and replaces the addresses that
moved wherever else the chapter repeats them (a command that quotes the RIP of a crash).
"""

import difflib
import os
import re
import shlex
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = re.compile(r"^\s*<!--\s*output of:\s*(.*?)\s*-->\s*$")
MAKE_VARIABLES = ("KERNEL_ARGS", "QEMU_EXTRA", "MEM", "MACHINE", "NIC")
LOG_PREFIX = re.compile(r"^\[\s*\d+\.\d+\]\s+(?:TRACE|DEBUG|INFO|WARN|ERROR)\s+")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
ELISION = ("...", "…")
# A number in an output line: decimal or hexadecimal, with or without 0x.
NUMBER = re.compile(r"\b(?:0x)?[0-9a-f]*[0-9][0-9a-f]*\b")
# An address worth following through the rest of a chapter when it moves.
ADDRESS = re.compile(r"^0x[0-9a-f]{5,}$")
MONITOR_SAMPLES = 5
# What `, curl PATH` sends: curl's head, with fixed values, so that sizes in the log do not
# depend on the port or on the curl installed.
REQUEST_HEAD = "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
REQUEST_WAIT_S = 15
# A `…` inside a block line: any text.
WILDCARD = "…"
CAPTURE_ATTEMPTS = 5


# --- Code blocks in Markdown ----------------------------------------------------------------

def code_block_spans(lines):
    """(first line, end line, indentation) of every code block: fenced (```), at any
    indentation, fences included; or indented by four spaces after a blank line."""
    spans, i = [], 0
    while i < len(lines):
        fence = re.match(r"(\s*)```", lines[i])
        if fence:
            j = i + 1
            while j < len(lines) and not re.match(r"\s*```", lines[j]):
                j += 1
            spans.append((i, min(j + 1, len(lines)), len(fence.group(1))))
            i = j + 1
            continue
        if (lines[i].startswith("    ") and lines[i].strip() and (i == 0 or not lines[i - 1].strip())
                and not in_list(lines, i)):
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                j += 1
            while j > i and not lines[j - 1].strip():
                j -= 1
            spans.append((i, j, 4))
            i = j
            continue
        i += 1
    return spans


def in_list(lines, i):
    """Whether line i continues a list item (its indentation belongs to the item)."""
    for j in range(i - 1, -1, -1):
        if not lines[j].strip():
            continue
        if re.match(r"\s*([-*+]|\d+\.)\s", lines[j]):
            return True
        if not lines[j].startswith(" "):
            return False
    return False


def block_body(lines, span):
    """The (first, end) line range of a block's content (inside the fences) and its indent."""
    start, end, indent = span
    if lines[start].lstrip().startswith("```"):
        return start + 1, end - 1, indent
    return start, end, indent


# --- Markers ---------------------------------------------------------------------------------

class Excerpt:
    """One marked block: where it is, what produces it, and its lines (indentation removed)."""

    def __init__(self, path, marker_line, command, first, end, indent, lines):
        self.path, self.marker_line, self.command = path, marker_line, command
        self.first, self.end, self.indent, self.lines = first, end, indent, lines

    @property
    def name(self):
        return f"{self.path}:{self.marker_line} ({self.command.text})"


class Command:
    """`make run [KERNEL_ARGS=...] [QEMU_EXTRA=...] [MEM=...] [MACHINE=...] [NIC=...]
    [, (qemu) COMMAND]`, with the Makefile's defaults."""

    def __init__(self, text):
        self.text = text
        make, _, monitor = text.partition(", (qemu) ")
        self.monitor = monitor.strip() or None
        make, _, request = make.partition(", curl ")
        self.request = request.strip() or None
        if self.request is not None and not self.request.startswith("/"):
            raise ValueError(f"`{text}`: `, curl PATH` takes a path (`/`, `/api/stats`)")
        try:
            words = shlex.split(make)
        except ValueError as error:
            raise ValueError(f"cannot read `{make}`: {error}")
        # `make capture` takes no variables: tests/capture.py boots as plain `make run` does.
        self.capture = words == ["make", "capture"] and not self.monitor
        if self.capture:
            words = ["make", "run"]
        if words[:2] != ["make", "run"]:
            raise ValueError(f"`{text}`: the command must be `make capture` or start with `make run`")
        variables = {}
        for word in words[2:]:
            name, equals, value = word.partition("=")
            if not equals or name not in MAKE_VARIABLES:
                raise ValueError(f"`{text}`: only {', '.join(MAKE_VARIABLES)} can be set")
            variables[name] = value
        self.kernel_args = variables.get("KERNEL_ARGS", "")
        self.qemu_extra = variables.get("QEMU_EXTRA", "")
        self.mem = variables.get("MEM", "256M")
        self.machine = variables.get("MACHINE", "pc")
        # The Makefile's NIC default: an RTL8139 on pc, the machine's own card elsewhere.
        self.nic = variables.get("NIC", "rtl8139" if self.machine == "pc" else "default")
        if (self.monitor or self.request) and self.exits():
            raise ValueError(f"`{text}`: a test boot ends QEMU, so it has no monitor to ask "
                             f"and no server to send a request to")

    def exits(self):
        """Self-test and crash-test boots end QEMU themselves."""
        words = self.kernel_args.split()
        return "selftest" in words or any(w.startswith("crashtest=") for w in words)

    def boot(self):
        """What identifies one boot: excerpts with the same boot share it."""
        return (self.capture, self.kernel_args, self.qemu_extra, self.mem, self.machine, self.nic)


def excerpts(path, text):
    """(excerpts, problems) of a chapter: every marked block, and every marker that is not
    readable or not followed by a code block."""
    lines = text.split("\n")
    spans = code_block_spans(lines)
    found, problems = [], []
    for number, line in enumerate(lines):
        match = MARKER.match(line)
        if not match:
            continue
        try:
            command = Command(match.group(1))
        except ValueError as error:
            problems.append((number + 1, str(error)))
            continue
        span = next((s for s in spans if s[0] > number
                     and not any(lines[i].strip() for i in range(number + 1, s[0]))), None)
        if span is None:
            problems.append((number + 1, "an 'output of' marker must come right before a code block"))
            continue
        first, end, indent = block_body(lines, span)
        found.append(Excerpt(path, number + 1, command, first, end, indent,
                             [l[indent:] if l[:indent].strip() == "" else l.lstrip() for l in lines[first:end]]))
    return found, problems


# --- Comparing an excerpt with real output ----------------------------------------------------

def normalize(line):
    """A line as compared: no escape sequences, no log prefix, single spaces."""
    return " ".join(LOG_PREFIX.sub("", ANSI_ESCAPE.sub("", line).strip()).split())


def output_lines(text):
    """The non-blank lines of real output, without the log prefix (right spaces trimmed)."""
    lines = []
    for line in ANSI_ESCAPE.sub("", text).replace("\r", "").split("\n"):
        if line.strip():
            lines.append(LOG_PREFIX.sub("", line).rstrip())
    return lines


def splits(line):
    """(content, note) readings of a block line, the whole line first, then shorter contents
    ending where two or more spaces begin."""
    readings = [(line.rstrip(), "")]
    for gap in reversed(list(re.finditer(r"\S(\s{2,})\S", line))):
        readings.append((line[:gap.start(1)], line[gap.start(1):]))
    return readings


def masked(content):
    """A regex matching `content` with any numbers in place of its numbers."""
    parts, last = [], 0
    for number in NUMBER.finditer(content):
        parts.append(re.escape(content[last:number.start()]))
        parts.append(r"(?:0x)?[0-9a-f]+")
        last = number.end()
    parts.append(re.escape(content[last:]))
    return re.compile("".join(parts))


def match_line(block_line, real_line, loose=False):
    """The reading of `block_line` whose content is `real_line` (with any numbers, if
    `loose`), as (content, note), or None."""
    real = normalize(real_line)
    for content, note in splits(block_line):
        if WILDCARD in content:
            # Exact around the `…`, loose or not: `--update` keeps such a line as it is.
            if re.fullmatch(".*".join(map(re.escape, normalize(content).split(WILDCARD))), real):
                return content, note
        elif normalize(content) == real or loose and masked(normalize(content)).fullmatch(real):
            return content, note
    return None


def segments(block_lines):
    """The block's runs of consecutive lines, as lists of (index, line), cut at `...`."""
    runs, run = [], []
    for index, line in enumerate(block_lines):
        if line.strip() in ELISION:
            if run:
                runs.append(run)
            run = []
        elif line.strip():
            run.append((index, line))
    if run:
        runs.append(run)
    return runs


def compare(block_lines, real_text, loose=False):
    """(problems, rewritten): why the block is not an excerpt of the real output (empty if it
    is), and, when `loose`, the block rewritten from the real output where only numbers
    differ (notes kept)."""
    real = output_lines(real_text)
    problems, rewritten, position = [], list(block_lines), 0
    for run in segments(block_lines):
        start = find_run(run, real, position, loose=False)
        if start is None and loose:
            start = find_run(run, real, position, loose=True)
        if start is None:
            problems.append(explain(run, real, position))
            continue
        for offset, (index, line) in enumerate(run):
            content, note = match_line(line, real[start + offset], loose=True)
            if WILDCARD not in content and normalize(content) != normalize(real[start + offset]):
                rewritten[index] = with_note(real[start + offset], content, note)
        position = start + len(run)
    return problems, rewritten


def find_run(run, real, position, loose):
    for start in range(position, len(real) - len(run) + 1):
        if all(match_line(line, real[start + offset], loose) for offset, (_, line) in enumerate(run)):
            return start
    return None


def explain(run, real, position):
    """Why a run of block lines is not in the real output: its first line missing, or the
    first line where the best-matching stretch of output differs."""
    best_start, best_length = None, 0
    for start in range(position, len(real)):
        length = 0
        while (length < len(run) and start + length < len(real)
               and match_line(run[length][1], real[start + length])):
            length += 1
        if length > best_length:
            best_start, best_length = start, length
    if best_start is None:
        line = run[0][1].strip()
        close = difflib.get_close_matches(normalize(line), [normalize(r) for r in real[position:]], 1, 0.5)
        hint = f"; closest: `{close[0]}`" if close else ""
        return f"`{line}` is not in the output{hint}"
    index, line = run[best_length]
    there = real[best_start + best_length] if best_start + best_length < len(real) else "(the end of the output)"
    return f"`{line.strip()}` should be `{there.strip()}` (the line after `{run[best_length - 1][1].strip()}`)"


def with_note(real_line, old_content, note):
    """The real line with the author's note where it was (at least two spaces apart)."""
    if not note:
        return real_line
    gap = max(2, len(old_content) + len(note) - len(note.lstrip()) - len(real_line))
    return real_line + " " * gap + note.lstrip()


def moved_addresses(old_lines, new_lines):
    """{old: new} for the long hexadecimal addresses that differ between the block before and
    after rewriting (same number layout, so the numbers pair up in order)."""
    moved = {}
    for old, new in zip(old_lines, new_lines):
        for a, b in zip(NUMBER.findall(old), NUMBER.findall(new)):
            if a != b and ADDRESS.match(a) and ADDRESS.match(b):
                moved[a] = b
    return moved


# --- Booting ------------------------------------------------------------------------------------

def run_boot(command, excerpts_of_boot, loose):
    """Boots `command`'s configuration once and compares each excerpt with its output;
    returns [(excerpt, problems, rewritten lines)]."""
    from qemu import Qemu, build_iso

    if command.capture:
        return run_capture(excerpts_of_boot, loose)
    results = []
    with Qemu(build_iso(command.kernel_args), mem=command.mem, machine=command.machine,
              nic_model=None if command.nic == "default" else command.nic,
              extra_args=shlex.split(command.qemu_extra), timeout=180) as vm:
        if command.exits():
            vm.wait_exit(timeout=170)
        else:
            vm.wait_for(r"READY", timeout=120)
        for excerpt in excerpts_of_boot:
            if excerpt.command.request:
                results.append(request_excerpt(vm, excerpt, loose))
                continue
            monitor = excerpt.command.monitor
            for sample in range(MONITOR_SAMPLES if monitor else 1):
                # The monitor shows one moment: an interrupt in flight changes irr or isr for
                # a few microseconds, so a monitor excerpt gets a few samples.
                output = monitor_output(vm.monitor(monitor)) if monitor else vm.log()
                problems, rewritten = compare(excerpt.lines, output, loose)
                if not problems:
                    break
                time.sleep(0.2)
            results.append((excerpt, problems, rewritten))
    return results


def request_excerpt(vm, excerpt, loose):
    """Sends the excerpt's request, reads the answer, then compares the log with the excerpt
    until it matches or REQUEST_WAIT_S pass: (excerpt, problems, rewritten lines)."""
    import socket

    with socket.create_connection(("127.0.0.1", vm.port), timeout=REQUEST_WAIT_S) as client:
        client.sendall(REQUEST_HEAD.format(path=excerpt.command.request).encode())
        client.shutdown(socket.SHUT_WR)
        while client.recv(65536):
            pass
    deadline = time.monotonic() + REQUEST_WAIT_S
    while True:
        problems, rewritten = compare(excerpt.lines, vm.log(), loose)
        if not problems or time.monotonic() > deadline:
            return excerpt, problems, rewritten
        time.sleep(0.2)
def run_capture(excerpts_of_capture, loose):
    """`make capture` up to CAPTURE_ATTEMPTS times, until every excerpt matches one capture;
    returns [(excerpt, problems, rewritten lines)] of the last one."""
    import capture
    from qemu import build_iso

    for _ in range(CAPTURE_ATTEMPTS):
        output = capture.report(*capture.capture(build_iso("")))
        results = [(excerpt, *compare(excerpt.lines, output, loose)) for excerpt in excerpts_of_capture]
        if not any(compare(excerpt.lines, output)[0] for excerpt in excerpts_of_capture):
            break
    return results


def monitor_output(reply):
    """A monitor reply without the echo of the command (its first line) and the next prompt."""
    lines = reply.replace("\r", "").split("\n")[1:]
    while lines and (not lines[-1].strip() or lines[-1].startswith("(qemu)")):
        lines.pop()
    return "\n".join(lines)


def all_excerpts():
    found = []
    for name in sorted(os.listdir(os.path.join(ROOT, "docs"))) + ["../README.md"]:
        path = os.path.normpath(os.path.join("docs", name))
        if path.endswith(".md"):
            with open(os.path.join(ROOT, path), encoding="utf-8") as f:
                found += excerpts(path, f.read())[0]
    return found


def run_all(loose):
    boots = {}
    for excerpt in all_excerpts():
        boots.setdefault(excerpt.command.boot(), []).append(excerpt)
    results = []
    for group in boots.values():
        results += run_boot(group[0].command, group, loose)
    return results


def check_all():
    """One (name, error or None) per marked excerpt, from real boots."""
    return [(excerpt.name, "\n".join(problems) + "\n(after a change that moves them: "
             "python3 tests/check_docs.py --update)" if problems else None)
            for excerpt, problems, _ in run_all(loose=False)]


def update_all():
    """Rewrites every excerpt from real boots; returns the problems it could not fix."""
    unfixed, edits = [], {}
    for excerpt, problems, rewritten in run_all(loose=True):
        if problems:
            unfixed += [f"{excerpt.name}: {problem}" for problem in problems]
        if rewritten != excerpt.lines:
            edits.setdefault(excerpt.path, []).append((excerpt, rewritten))
    for path, changes in edits.items():
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            lines = f.read().split("\n")
        moved = {}
        for excerpt, rewritten in changes:
            moved.update(moved_addresses(excerpt.lines, rewritten))
        inside = set()
        for excerpt, rewritten in sorted(changes, key=lambda change: -change[0].first):
            lines[excerpt.first:excerpt.end] = [" " * excerpt.indent + line if line.strip() else line
                                                for line in rewritten]
            inside.update(range(excerpt.first, excerpt.end))
        for number, line in enumerate(lines):
            if number not in inside:
                lines[number] = re.sub(r"\b0x[0-9a-f]{5,}\b", lambda m: moved.get(m.group(0), m.group(0)), line)
        with open(os.path.join(ROOT, path), "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        print(f"docs-output: rewrote {len(changes)} excerpt(s) of {path}")
    return unfixed


def build_kernel():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)


# --- Self-test of the pure parts (run by tests/check_docs.py) -----------------------------------

def self_test():
    import capture

    capture.self_test()
    log = ("[    0.005] INFO  pci: 00:03.0 Ethernet controller [10ec:8139] (rev 20), IRQ 11\n"
           "[    0.005] INFO  pci:     BAR0: I/O ports at 0xc000 [size=256]\n"
           "[    0.006] INFO  pci: 6 functions found\n"
           "\n"
           "  vector 14  error code 0x2  RIP 0x000000000010512d  CS 0x8\n")
    # Consecutive lines, notes and the log prefix.
    assert compare(["pci: 00:03.0 Ethernet controller [10ec:8139] (rev 20), IRQ 11",
                    "pci:     BAR0: I/O ports at 0xc000 [size=256]     the I/O window"], log) == (
        [], ["pci: 00:03.0 Ethernet controller [10ec:8139] (rev 20), IRQ 11",
             "pci:     BAR0: I/O ports at 0xc000 [size=256]     the I/O window"])
    # A line the kernel does not print, and a gap without `...`.
    problems, _ = compare(["pci:     BAR1: memory at 0xfebf1000"], log)
    assert problems and "is not in the output" in problems[0], problems
    problems, _ = compare(["pci: 00:03.0 Ethernet controller [10ec:8139] (rev 20), IRQ 11",
                           "pci: 6 functions found"], log)
    assert problems and "should be `pci:     BAR0" in problems[0], problems
    assert compare(["pci: 00:03.0 Ethernet controller [10ec:8139] (rev 20), IRQ 11", "...",
                    "pci: 6 functions found"], log)[0] == []
    # Two spaces inside the real line are content, not a note.
    assert compare(["  vector 14  error code 0x2  RIP 0x000000000010512d  CS 0x8"], log)[0] == []
    # Rewriting: only the numbers moved; the note stays in its column.
    old = ["pci:     BAR0: I/O ports at 0xd000 [size=256]   I/O", "...",
           "  vector 14  error code 0x2  RIP 0x0000000000100000  CS 0x8"]
    problems, new = compare(old, log, loose=True)
    assert problems == [] and new == ["pci:     BAR0: I/O ports at 0xc000 [size=256]   I/O", "...",
                                      "  vector 14  error code 0x2  RIP 0x000000000010512d  CS 0x8"], new
    assert moved_addresses(old, new) == {"0x0000000000100000": "0x000000000010512d"}
    # A `…` inside a line: any text, kept when rewriting.
    assert compare(["pci: 00:03.0 Ethernet controller […] (rev 20), IRQ 11"], log)[0] == []
    problems, new = compare(["pci:     BAR0: I/O ports at 0xc000 […]", "pci: … functions found"], log, loose=True)
    assert problems == [] and new == ["pci:     BAR0: I/O ports at 0xc000 […]", "pci: … functions found"], new
    assert compare(["pci:     BAR0: I/O ports at 0xd000 […]"], log, loose=True)[0], "exact around the …"
    assert compare(["pci: … devices found"], log)[0]
    assert Command("make run KERNEL_ARGS=trace=request, curl /").request == "/"
    # Markers: the command, and the block they belong to (indented or fenced).
    chapter = ("text\n\n<!-- output of: make run QEMU_EXTRA=\"-machine type=q35\", (qemu) info mem -->\n\n"
               "    0000000000001000-0000000000100000 00000000000ff000 -rw\n\n"
               "1. item\n\n   <!-- output of: make run KERNEL_ARGS=crashtest=page-fault -->\n   ```text\n"
               "   CPU EXCEPTION\n   ```\n<!-- output of: make debug -->\n")
    found, problems = excerpts("x.md", chapter)
    assert (found[0].command.machine, found[0].command.nic) == ("pc", "rtl8139")
    assert Command("make run MACHINE=q35").nic == "default" and Command("make run NIC=e1000").nic == "e1000"
    assert [(e.command.qemu_extra, e.command.monitor, e.lines) for e in found] == [
        ("-machine type=q35", "info mem", ["0000000000001000-0000000000100000 00000000000ff000 -rw"]),
        ("", None, ["CPU EXCEPTION"])], [(e.command.text, e.lines) for e in found]
    assert found[1].command.exits() and problems == [
        (13, "`make debug`: the command must be `make capture` or start with `make run`")], problems
    assert Command("make capture").capture and not Command("make run").capture
    assert Command("make capture").boot() != Command("make run").boot()
    assert excerpts("y.md", "<!-- output of: make run KERNEL_ARGS=selftest, (qemu) info pic -->\n    x\n")[1]
