"""Checks that the walkthrough matches the tree (run by `make test`).

For README.md and every docs/*.md chapter:
- every file path it cites (src/..., arch/..., tests/..., and so on) exists, every bare file
  name in backticks (`rx_ring.rs`) names a file of the tree, and every link to another chapter
  points at a file that exists;
- every name it cites in backticks that looks like code is defined in the sources:
  - a bare name (`kmain`, `TICK_HZ`, `start64`) must be defined somewhere: as a fn, struct,
    enum, trait, type, const, static, module, macro, struct field or enum variant in Rust, a label
    in assembly or the linker script, a Python or shell function, or a Makefile target;
  - a qualified name is checked where it points: `module::name` (`pic::end_of_interrupt`,
    `cpu::gdt::init`) must be defined in that module's files (src/**/module.rs or src/**/module/),
    or re-exported there; `Type::name` (`Stack::accept`, `RxError::needs_receiver_reset`) must be
    a method or associated const in an `impl` of that type (or of that trait), a variant of that
    enum or a field of that struct; `suite::test` may also name an in-kernel self-test
    (`sched::sleep_50ms_wakes_on_time`). Names under an external crate (`smoltcp::`, `log::`,
    `std::`, a type the tree neither defines nor implements) are not checked;
- every command in a "Try it" section is a real Makefile target (`make X`) or a known tool, and
  every QEMU monitor command it shows (`(qemu) info pic`) is one QEMU has;
- every chapter (docs/NN-name.md, 00 to 13) is titled "# N. Title", has a "Try it" section and
  an "Exercises" section with at least two exercises;
- the course's rules (see "The course's rules" below): every exercise is a heading "### Exercise
  N.M: Title ★☆☆" with a hint and a "Done when" naming `make exercise EX=N.M`, a check registered
  in tests/exercises/chNN.py and a reference solution docs/solutions/N.M.patch; the first mention
  of each glossary term in a chapter links to its anchor in docs/glossary.md, which defines them
  all; a chapter in NOT_YET_CONVERTED has these two listed but not failed;
- every link to an anchor (`01-boot.md#the-uefi-path-no-bios-no-text-mode`, `glossary.md#gdt`)
  points at a heading or an explicit <a id> of that page;
- every page listed in docs/SUMMARY.md exists, every page is listed, chapters in order, each
  entry's title starting with the chapter's number, the appendices (glossary, figures) after them;
  every docs/solutions/N.M.patch has a check;
- every figure that comes from a constant of the code says what the constant says today (see
  "Figures that come from constants" below): a figure next to the constant's name in
  backticks ("`DEFAULT_STACK_SIZE` (32 KiB)") is checked as it stands; any other gets an
  invisible marker right after it, with an expression over constants:
      64 x 36 KiB is 2.25 MiB<!--= MAX_TCP_SOCKETS * (TCP_RX_BUFFER_BYTES + TCP_TX_BUFFER_BYTES) -->
      the client gets 5 s<!--= CLOSE_LINGER_MS ms --> for its FIN
  and figures inside a code block are listed in a comment before it:
      <!-- figures in the next block:
      "RX ring 32 KiB" = RX_RING_LEN
      -->
- every `<!-- output of: make run ... -->` marker (an excerpt of real output: a boot log, a
  QEMU monitor view, a crash report) is readable and sits right before a code block.
Prints one line per document and ends with "docs: N passed, M failed". It first checks its own
logic on small examples (the self-test line).

    python3 tests/check_docs.py            the checks above (make test runs them)
    python3 tests/check_docs.py --boot     also boot QEMU and compare each marked excerpt with
                                           the real output (make test runs this as the e2e test
                                           tests/e2e/test_docs_output.py; see tests/docs_output.py)
    python3 tests/check_docs.py --update   rewrite the marked excerpts from real boots, after a
                                           change that moved what the kernel prints
"""

import ast
import operator
import os
import re
import sys

import docs_output
from docs_output import code_block_spans

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_DIRS = ["src", "arch", "tests", "tools", "www"]
SOURCE_SUFFIXES = (".rs", ".S", ".ld", ".py", ".sh", ".js")
PATH_RE = re.compile(r"(?<![\w/.-])((?:src|arch|grub|iso|tests|tools|www|docs|\.ci)/[A-Za-z0-9_./-]*[A-Za-z0-9_])")
CODE_RE = re.compile(r"`([^`\n]+)`")
# A name or a path of names, optionally called: `kmain`, `pic::init()`, `sched::spawn(name, f)`.
IDENT_PATH_RE = re.compile(r"^((?:[A-Za-z_][A-Za-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*)(\([^()]*\))?$")
# A Python method cited as `Class.method`: only checked when Class is a class of the tree.
DOTTED_RE = re.compile(r"^([A-Z][A-Za-z0-9_]*)\.([a-z_][a-z0-9_]*)(\(\))?$")
# Crates and namespaces outside the tree: what a chapter cites under them is not checked here.
EXTERNAL = {"std", "core", "alloc", "smoltcp", "log", "clippy", "x86_64", "spin", "multiboot2",
            "pci_types", "httparse", "pic8259", "uart_16550", "lazy_static", "buddy_system_allocator",
            "phy", "iface", "tcp", "wire"}
# QEMU monitor commands a chapter may show as "(qemu) ..." in a Try it section, and the
# `info` subcommands among them (QEMU 7.2's `help` and `info` lists).
QEMU_MONITOR = {"info", "x", "xp", "set_link", "stop", "cont", "c", "system_reset", "quit", "q",
                "print", "p", "sendkey", "screendump", "gdbserver", "dump-guest-memory"}
QEMU_INFO = {"registers", "pic", "irq", "tlb", "mem", "pci", "network", "qtree", "mtree", "cpus",
             "status", "roms", "lapic", "chardev", "usernet", "version"}
# Tools a "Try it" block may use besides make; each is a Debian package or part of QEMU/gdb.
KNOWN_TOOLS = {
    "make", "gdb", "curl", "qemu-system-x86_64", "sudo", "dd", "lsblk", "addr2line", "objdump",
    "readelf", "nm", "grub-file", "tshark", "tcpdump", "ping", "wrk", "ab", "python3", "cargo",
    "git", "ss", "xxd", "grep", "cat", "echo", "ls", "(qemu)", "lspci", "chromium", "mdbook",
    "timeout",
}

RUST_ITEM = re.compile(r"\b(?:fn|struct|enum|trait|type|const(?!\s+(?:fn|unsafe)\b)|static|mod|macro_rules!)"
                       r"\s+([A-Za-z_][A-Za-z0-9_]*)")
RUST_FIELD = re.compile(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?([a-z_][a-z0-9_]*)\s*:(?!:)", re.M)
RUST_USE = re.compile(r"\bpub\s+use\s+([^;]+);")
ASM_LABEL = re.compile(r"^\s*\.?([A-Za-z_][A-Za-z0-9_]*):|^\s*\.glob(?:a)?l\s+([A-Za-z_][A-Za-z0-9_]*)", re.M)
SCRIPT_DEF = re.compile(r"^\s*(?:def|class)\s+([A-Za-z_][A-Za-z0-9_]*)|^([a-z_][a-z0-9_]*)\s*\(\)\s*\{"
                        r"|\bfunction\s+([A-Za-z_][A-Za-z0-9_]*)|\b(?:const|let)\s+([A-Za-z_][A-Za-z0-9_]*)\s*=", re.M)
IMPL_RE = re.compile(r"^\s*impl(?:<[^>{]*>)?\s+(?:([A-Za-z_][A-Za-z0-9_:]*)(?:<[^>{]*>)?\s+for\s+)?"
                     r"([A-Za-z_][A-Za-z0-9_:]*)(?:<[^{]*>)?[^{;]*\{", re.M)
TYPE_BODY_RE = re.compile(r"\b(struct|enum)\s+([A-Za-z_][A-Za-z0-9_]*)(?:<[^{;]*>)?[^{;(]*\{", re.M)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
        return f.read()


def block_at(text, start):
    """The text of the brace-delimited block whose opening brace is at text[start - 1]."""
    depth, i = 1, start
    while i < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start:i - 1]


def rust_definitions(text):
    names = set(RUST_ITEM.findall(text)) | set(RUST_FIELD.findall(text))
    for uses in RUST_USE.findall(text):
        names.update(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)(?:\s*[,}]|\s*$)", uses))
        names.update(re.findall(r"\bas\s+([A-Za-z_][A-Za-z0-9_]*)", uses))
    return names


class Tree:
    def __init__(self):
        self.files = {}          # path -> text, every source file
        self.names = set()       # every name defined anywhere
        self.members = {}        # type or trait name -> names defined in its impls, variants, fields
        self.types = set()       # types and traits defined in the tree
        for top in SOURCE_DIRS:
            for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
                for name in files:
                    if name.endswith(SOURCE_SUFFIXES):
                        path = os.path.relpath(os.path.join(dirpath, name), ROOT)
                        self.files[path] = read(path)
                        self.names.add(os.path.splitext(name)[0])
                self.names.add(os.path.basename(dirpath))
        self.files["Makefile"] = read("Makefile")
        self.file_names = {"build.rs", "Makefile", "Cargo.toml"} | {
            name for top in SOURCE_DIRS + ["grub", "docs"] for _, _, names in os.walk(os.path.join(ROOT, top))
            for name in names}
        for path, text in self.files.items():
            self.names.update(self.definitions(path, text))
            if path.endswith(".rs"):
                self.index_members(text)
            elif path.endswith(".py"):
                self.index_python_classes(text)
        # Lint and dependency names in Cargo.toml.
        self.names.update(re.findall(r"^([a-z_][a-z0-9_-]*)\s*=", read("Cargo.toml"), re.M))
        self.test_names = set(re.findall(r'name:\s*"([a-z_]+::[a-z0-9_]+)"', "\n".join(
            text for path, text in self.files.items() if path.startswith("src/ktest/"))))

    @staticmethod
    def definitions(path, text):
        if path.endswith(".rs"):
            return rust_definitions(text)
        if path.endswith((".S", ".ld")):
            return {g for match in ASM_LABEL.findall(text) for g in match if g}
        if path == "Makefile":
            return set(re.findall(r"^([A-Za-z][A-Za-z0-9_-]*)\s*(?::|\?=|:=|=)", text, re.M))
        return {g for match in SCRIPT_DEF.findall(text) for g in match if g}

    def index_members(self, text):
        for match in TYPE_BODY_RE.finditer(text):
            kind, name = match.groups()
            self.types.add(name)
            body = block_at(text, match.end())
            members = self.members.setdefault(name, set())
            if kind == "enum":
                members.update(re.findall(r"^\s*([A-Z][A-Za-z0-9_]*)\b", body, re.M))
            else:
                members.update(RUST_FIELD.findall(body))
        for name in re.findall(r"\b(?:struct|enum|trait|type)\s+([A-Za-z_][A-Za-z0-9_]*)", text):
            self.types.add(name)
        for match in IMPL_RE.finditer(text):
            trait, name = match.groups()
            body = block_at(text, match.end())
            defined = set(re.findall(r"\b(?:fn|const|type)\s+([A-Za-z_][A-Za-z0-9_]*)", body))
            for owner in filter(None, (trait, name)):
                owner = owner.split("::")[-1]
                self.members.setdefault(owner, set()).update(defined)

    def index_python_classes(self, text):
        """`Class.method` and `Class::method` in a Python file: the defs indented under the class."""
        for match in re.finditer(r"^class\s+([A-Za-z_][A-Za-z0-9_]*)[^\n]*:\n((?:[ \t]+[^\n]*\n|\n)*)", text, re.M):
            name, body = match.groups()
            self.types.add(name)
            self.members.setdefault(name, set()).update(re.findall(r"^\s+def\s+([A-Za-z_][A-Za-z0-9_]*)", body, re.M))

    def module_texts(self, path):
        """The source of a module path such as ["cpu", "gdt"] or ["pic"]: its files, or the body of
        an inline `mod name { ... }`."""
        texts = [self.files[f] for f in self.module_files(path)]
        for file, text in self.files.items():
            if file.endswith(".rs"):
                for match in re.finditer(r"\bmod\s+" + re.escape(path[-1]) + r"\s*\{", text):
                    texts.append(block_at(text, match.end()))
        return texts

    def module_files(self, path):
        """The files of a module path such as ["cpu", "gdt"] or ["pic"]."""
        found = []
        for file in self.files:
            if not file.startswith("src/") or not file.endswith(".rs"):
                continue
            parts = os.path.splitext(file)[0].split("/")[1:]
            for i in range(len(parts)):
                if parts[i:i + len(path)] == path:
                    found.append(file)
                    break
        return found

    def check_name(self, cited):
        """None if the cited name is defined where it says, else why not."""
        segments = cited.split("::")
        name = segments[-1]
        if len(segments) == 1:
            return None if name in self.names else f"nothing in the sources defines {name}"
        if segments[0] in EXTERNAL or segments[0] in ("crate", "kernel") and len(segments) == 2:
            return None if segments[0] in EXTERNAL else self.check_name(name)
        if segments[0] in ("crate", "kernel"):
            segments = segments[1:]
        if cited in self.test_names:
            return None
        owner = segments[-2]
        if owner[0].isupper():
            if owner not in self.types and owner not in self.members:
                return None   # a type from an external crate
            if name in self.members.get(owner, set()):
                return None
            return f"{owner} has no method, constant, variant or field {name}"
        module = "::".join(segments[:-1])
        texts = self.module_texts(segments[:-1])
        if not texts:
            return f"there is no module {module} under src/"
        submodules = {os.path.splitext(os.path.basename(f))[0] for f in self.module_files(segments[:-1])}
        if name in submodules or any(name in rust_definitions(text) for text in texts):
            return None
        return f"module {module} defines no {name}"


def asked_for_by_exercises(text, code, name):
    """Whether `code`, which names nothing in the tree, is cited only inside exercises whose
    reference solution (docs/solutions/N.M.patch) defines `name`: an exercise may name what
    it asks the learner to write, and a typo still fails."""
    sections = [(m.start(), m.group(1)) for m in re.finditer(r"^### Exercise (\d+\.\d+):", text, re.M)]
    end_of_exercises = re.search(r"^## (?!Exercises)|^---$|\Z", text[sections[0][0]:], re.M).start() \
        + sections[0][0] if sections else 0
    numbers = set()
    for match in re.finditer(re.escape(f"`{code}`"), text):
        inside = [number for start, number in sections if start <= match.start() < end_of_exercises]
        if not inside:
            return False
        numbers.add(inside[-1])
    return any(name in solution_definitions(number) for number in numbers)


def solution_definitions(number):
    """The names the added lines of docs/solutions/NUMBER.patch define (Rust items, fields,
    Python functions)."""
    path = os.path.join("docs", "solutions", f"{number}.patch")
    if not os.path.exists(os.path.join(ROOT, path)):
        return set()
    added = "\n".join(line[1:] for line in read(path).splitlines()
                      if line.startswith("+") and not line.startswith("+++"))
    return rust_definitions(added) | {g for match in SCRIPT_DEF.findall(added) for g in match if g}


def makefile_targets():
    """Every target of the Makefile, also those of a rule with several (`a b c:`)."""
    rules = re.findall(r"^([A-Za-z][A-Za-z0-9_ -]*):(?!=)", read("Makefile"), re.M)
    return {target for rule in rules for target in rule.split()}


def code_blocks(text):
    """(language, body) of every fenced code block, fences indented or not."""
    blocks, language, body = [], None, []
    for line in text.splitlines():
        fence = re.match(r"\s*```(\S*)", line)
        if fence and language is None:
            language, body = fence.group(1), []
        elif fence:
            blocks.append((language, "\n".join(body)))
            language = None
        elif language is not None:
            body.append(line)
    return blocks


def try_it_commands(text):
    """Command lines inside shell code blocks of sections whose heading starts with 'Try it'."""
    commands = []
    for section in re.split(r"^#+ ", text, flags=re.M):
        if not section.lower().startswith("try it"):
            continue
        for language, block in code_blocks(section):
            if language not in ("", "sh", "bash", "console"):
                continue
            joined = re.sub(r"\\\n\s*", " ", block)
            commands += [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]
    return commands


def monitor_commands(text):
    """Every "(qemu) command" shown in a section whose heading starts with 'Try it'."""
    commands = []
    for section in re.split(r"^#+ ", text, flags=re.M):
        if section.lower().startswith("try it"):
            commands += re.findall(r"\(qemu\) ([^\n#]+)", section)
    return [command.strip() for command in commands]


def looks_like_code(code, name, called):
    """A path with ::, a call with (), or an identifier with an underscore or an inner capital."""
    return "::" in code or called or "_" in name or re.search(r"[a-z][A-Z]", name)


def check_document(path, tree, targets):
    problems = []
    text = read(path)
    for cited in sorted(set(PATH_RE.findall(text))):
        cited = cited.rstrip(".")
        if not os.path.exists(os.path.join(ROOT, cited)):
            problems.append(f"cites {cited}, which does not exist")
    folder = os.path.dirname(path)
    for link in sorted(set(re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", text))):
        if not os.path.exists(os.path.join(ROOT, folder, link)):
            problems.append(f"links to {link}, which does not exist")
    for code in sorted(set(CODE_RE.findall(text))):
        if re.fullmatch(r"[a-z0-9_]+\.(rs|S|ld|py|sh|js|html|css)", code) and code not in tree.file_names:
            problems.append(f"cites the file `{code}`, but there is no file of that name in the tree")
            continue
        dotted = DOTTED_RE.match(code.strip())
        if dotted and dotted.group(1) in tree.types:
            why = tree.check_name(f"{dotted.group(1)}::{dotted.group(2)}")
            if why:
                problems.append(f"cites `{code}`, but {why}")
            continue
        match = IDENT_PATH_RE.match(code.strip())
        if not match:
            continue
        cited, called = match.groups()
        if not looks_like_code(code, cited.split("::")[-1], called):
            continue
        why = tree.check_name(cited)
        if why and not asked_for_by_exercises(text, code, cited.split("::")[-1]):
            problems.append(f"cites `{code}`, but {why}")
    problems += [f"line {line}: {problem}" for line, problem in docs_output.excerpts(path, text)[1]]
    for command in monitor_commands(text):
        words = command.split()
        if words[0] not in QEMU_MONITOR or (words[0] == "info" and (len(words) < 2 or words[1] not in QEMU_INFO)):
            problems.append(f"Try it shows the monitor command `{command}`, which QEMU does not have")
    for command in try_it_commands(text):
        words = command.split()
        tool = words[0]
        if tool == "make":
            for word in words[1:]:
                if "=" in word or word.startswith("-"):
                    continue
                if word not in targets:
                    problems.append(f"Try it runs `{command}`, but the Makefile has no target {word}")
        elif tool not in KNOWN_TOOLS and not tool.startswith(("./", "tests/", "tools/")):
            problems.append(f"Try it runs `{command}`: {tool} is not a Makefile target or a known tool")
        elif tool.startswith(("tests/", "tools/")) and not os.path.exists(os.path.join(ROOT, tool)):
            problems.append(f"Try it runs `{command}`, but {tool} does not exist")
    return problems


# ---------------------------------------------------------------------------------------------
# Figures that come from constants in the code.
#
# A chapter that says "64 TCP sockets" or "2.25 MiB of heap" repeats what a `const` in src/
# says; when the constant changes, the text must follow. Three ways to tie a figure to its
# constants, all invisible in the rendered book (HTML comments) or already part of the prose:
#
# 1. Automatically, where the text names the constant next to its value:
#    "`DEFAULT_STACK_SIZE` (32 KiB)", "`TICK_HZ` = 1000 Hz", "32 KiB (`RX_RING_LEN`)".
#    (Not in the Exercises, which ask the learner to change constants.)
# 2. A marker right after a figure in prose or in a table cell, holding an expression over
#    constants: "about 2.25 MiB<!--= MAX_TCP_SOCKETS * (TCP_RX_BUFFER_BYTES + TCP_TX_BUFFER_BYTES) -->".
#    A trailing unit says what the expression counts in: "5 s<!--= CLOSE_LINGER_MS ms -->".
# 3. A comment before a code block (where a comment would show), one quoted snippet per line:
#        <!-- figures in the next block:
#        "RX ring 32 KiB" = RX_RING_LEN
#        -->
#
# The figure is a number, optionally followed by a unit (KiB, MiB, GiB, bytes, B, ms, s, Hz); it
# must equal the expression's value rounded to the decimals the text shows ("2.25 MiB" needs
# 2.245 to 2.255). Expressions use + - * / // % << >> ( ) min max round, numbers, and
# constant names: `NAME` when every constant of that name has the same value, else
# `module::NAME` (`stack::MAX_TCP_SOCKETS`). Sizes default to bytes and counts to plain numbers;
# a time needs its unit (ms or s) after the expression.
# ---------------------------------------------------------------------------------------------

UNITS = {"KiB": ("size", 1 << 10), "MiB": ("size", 1 << 20), "GiB": ("size", 1 << 30),
         "bytes": ("size", 1), "byte": ("size", 1), "B": ("size", 1),
         "ms": ("time", 1e-3), "s": ("time", 1.0), "Hz": ("frequency", 1)}
UNIT_RE = r"(?:KiB|MiB|GiB|bytes|byte|B|ms|s|Hz)"
NUMBER_RE = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# A figure at the very end of a text (just before a marker) and at its start (after a name).
FIGURE_BEFORE = re.compile(rf"({NUMBER_RE})(?:\s?({UNIT_RE}))?[*_`]*\s*$")
FIGURE_AFTER = re.compile(rf"^[*_]*({NUMBER_RE})(?![\^\d])(?:\s?({UNIT_RE}))?\b(?!\s*[-+*/^])")
FIGURE_MARKER = re.compile(r"<!--=\s*(.*?)\s*-->", re.S)
BLOCK_FIGURES = re.compile(r"<!--\s*figures in the next block:\s*\n(.*?)-->", re.S)
# Auto rule: "`NAME` (figure" or "`NAME` = figure", and "figure (`NAME`" .
NAMED_THEN_FIGURE = re.compile(r"`([A-Z][A-Z0-9_]+)`\s*(?:\(|=\s*)")
FIGURE_THEN_NAMED = re.compile(rf"({NUMBER_RE})(?:\s?({UNIT_RE}))?\s*\(`([A-Z][A-Z0-9_]+)`[,)]")
RUST_CONST = re.compile(r"\bconst\s+([A-Z][A-Z0-9_]*)\s*:\s*[^=;]+=\s*([^;]+);")
INTEGER_TYPE = r"(?:[iu](?:8|16|32|64|128|size))"


class FigureError(Exception):
    pass


def strip_test_modules(text):
    """Rust source without its `#[cfg(test)] mod ... { }` blocks."""
    while True:
        match = re.search(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+\w+\s*\{", text)
        if not match:
            return text
        body = block_at(text, match.end())
        text = text[:match.start()] + text[match.end() + len(body) + 1:]


def rust_to_python(expr):
    """A Rust constant expression as a Python one: casts and literal suffixes dropped, integer
    division kept integral, paths written with dots."""
    expr = re.sub(r"//[^\n]*", "", expr)
    expr = re.sub(rf"\bas\s+{INTEGER_TYPE}\b", "", expr)
    expr = re.sub(rf"\b(0x[0-9a-fA-F_]+|\d[\d_]*){INTEGER_TYPE}\b", r"\1", expr)
    expr = re.sub(r"\b[iu](8|16|32|64|128|size)::BITS\b", lambda m: m.group(1).replace("size", "64"), expr)
    expr = re.sub(r"\bu(8|16|32|64|128|size)::MAX\b",
                  lambda m: str((1 << int(m.group(1).replace("size", "64"))) - 1), expr)
    expr = re.sub(r"(?<!/)/(?!/)", "//", expr)
    return expr.replace("::", ".")


BINARY_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
                    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
                    ast.LShift: operator.lshift, ast.RShift: operator.rshift, ast.BitOr: operator.or_,
                    ast.BitAnd: operator.and_}
FUNCTIONS = {"min": min, "max": max, "round": round}


def evaluate(expr, resolve):
    """The value of an arithmetic expression whose names `resolve` turns into numbers."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        raise FigureError(f"cannot read the expression `{expr.strip()}`")

    def dotted(node):
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            return dotted(node.value) + "::" + node.attr
        raise FigureError(f"cannot evaluate `{ast.unparse(node)}`")

    def walk(node):
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY_OPERATORS:
            return BINARY_OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, (ast.Name, ast.Attribute)):
            return resolve(dotted(node))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
                and not node.keywords):
            return FUNCTIONS[node.func.id](*map(walk, node.args))
        raise FigureError(f"cannot evaluate `{ast.unparse(node)}`")

    return walk(tree.body)


class Constants:
    """Every `const NAME: T = EXPR;` of the kernel's sources (test modules left out), evaluated
    on demand."""

    def __init__(self, tree):
        self.tree = tree
        self.definitions = {}   # NAME -> [(path, expression)]
        for path, text in tree.files.items():
            if path.startswith("src/") and path.endswith(".rs") and not path.endswith("/tests.rs"):
                for name, expr in RUST_CONST.findall(strip_test_modules(text)):
                    self.definitions.setdefault(name, []).append((path, expr))

    def value(self, cited, context=None, depth=0):
        """The value of `NAME` or `module::NAME`; `context` is the file whose own constants a
        bare name means first."""
        if depth > 20:
            raise FigureError(f"{cited} is defined in terms of itself")
        segments = cited.split("::")
        name, module = segments[-1], segments[:-1]
        found = self.definitions.get(name, [])
        if module:
            files = set(self.tree.module_files(module))
            found = [(path, expr) for path, expr in found if path in files]
        elif context and any(path == context for path, _ in found):
            found = [(path, expr) for path, expr in found if path == context]
        if not found:
            raise FigureError(f"no constant {cited} in src/")
        values = set()
        for path, expr in found:
            values.add(evaluate(rust_to_python(expr),
                                lambda inner, path=path: self.value(inner, path, depth + 1)))
        if len(values) > 1:
            where = ", ".join(sorted(path for path, _ in found))
            raise FigureError(f"{cited} has different values in {where}: write module::{name}")
        return values.pop()

    def unit_of(self, name):
        """What a constant counts, from its name: TIMEOUT_MS in ms, RING_LEN in bytes."""
        if name.endswith("_MS"):
            return "ms"
        if name.endswith(("_BYTES", "_SIZE", "_LEN")):
            return "bytes"
        if name.endswith("_HZ"):
            return "Hz"
        return None


def check_figure(number, unit, value, value_unit):
    """None if the figure `number unit` says `value value_unit`, rounded as the text rounds it;
    else what the figure should say."""
    dimension, factor = UNITS.get(unit, ("count", 1))
    if value_unit is None:
        if dimension == "time":
            raise FigureError("the expression needs its unit, ms or s, after it")
        value_unit = {"size": "bytes", "frequency": "Hz"}.get(dimension)
    value_dimension, value_factor = UNITS.get(value_unit, ("count", 1))
    if value_dimension != dimension:
        raise FigureError(f"a figure in {unit or 'plain numbers'} cannot be compared with {value_unit or 'a count'}")
    expected = value * value_factor / factor
    decimals = len(number.split(".")[1]) if "." in number else 0
    if abs(expected - float(number.replace(",", ""))) <= 0.5 * 10 ** -decimals + 1e-9:
        return None
    shown = f"{expected:.{max(decimals, 2)}f}".rstrip("0").rstrip(".")
    return f"{shown} {unit or ''}".strip()


def blank_code(text):
    """The text with every code block's lines blanked (offsets kept): prose only."""
    lines = text.split("\n")
    for start, end, _ in code_block_spans(lines):
        for i in range(start, end):
            lines[i] = " " * len(lines[i])
    return "\n".join(lines)


def sections_outside_exercises(text):
    """The text with its "## Exercises" section blanked (line numbers kept)."""
    match = re.search(r"^## Exercises\n.*?(?=^## |\Z)", text, re.M | re.S)
    if not match:
        return text
    return text[:match.start()] + re.sub(r"[^\n]", " ", match.group(0)) + text[match.end():]


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def check_figures(text, constants):
    """Every figure tied to constants in `text` (a chapter), as (line, problem) pairs."""
    problems = []
    prose = blank_code(text)

    def compare(offset, number, unit, expr, value_unit, what):
        try:
            value = evaluate(expr.replace("::", "."), constants.value)
            wrong = check_figure(number, unit, value, value_unit)
        except FigureError as error:
            problems.append((line_of(text, offset), f"{what}: {error}"))
            return
        if wrong:
            figure = f"{number} {unit}".strip() if unit else number
            problems.append((line_of(text, offset), f"{what} says {figure}, but {expr.strip()} gives {wrong}"))

    # 2. A marker after a figure.
    for match in FIGURE_MARKER.finditer(text):
        if prose[match.start():match.end()] != match.group(0):
            problems.append((line_of(text, match.start()), "a figure marker inside a code block shows in "
                             "the book: use a 'figures in the next block' comment before the block"))
            continue
        expr, value_unit = split_unit(match.group(1))
        before = FIGURE_BEFORE.search(prose[max(0, match.start() - 40):match.start()])
        if not before:
            problems.append((line_of(text, match.start()), f"no figure right before the marker for `{expr}`"))
            continue
        compare(match.start(), before.group(1), before.group(2), expr, value_unit, "the figure before the marker")
    # 3. Snippets of the next code block.
    lines = text.split("\n")
    spans = code_block_spans(lines)
    for match in BLOCK_FIGURES.finditer(prose):
        line = line_of(text, match.start())
        block = next_block(lines, spans, line_of(text, match.end()))
        for entry in match.group(1).strip().splitlines():
            parsed = re.match(r'\s*"([^"]+)"\s*=\s*(.+?)\s*$', entry)
            if not parsed:
                problems.append((line, f"cannot read `{entry.strip()}`: write \"snippet\" = EXPRESSION"))
                continue
            snippet, (expr, value_unit) = parsed.group(1), split_unit(parsed.group(2))
            figure = re.search(rf"({NUMBER_RE})(?:\s?({UNIT_RE})\b)?", snippet)
            if block is None or snippet not in block:
                problems.append((line, f"the next code block does not contain \"{snippet}\""))
            elif not figure:
                problems.append((line, f"\"{snippet}\" has no figure"))
            else:
                compare(match.start(), figure.group(1), figure.group(2), expr, value_unit, f"\"{snippet}\"")
    # 1. Constants named next to their value, outside the exercises.
    named = sections_outside_exercises(prose)
    found = [(m.start(), m.group(1), FIGURE_AFTER.match(named[m.end():])) for m in NAMED_THEN_FIGURE.finditer(named)]
    found = [(offset, name, figure.group(1), figure.group(2)) for offset, name, figure in found if figure]
    found += [(m.start(), m.group(3), m.group(1), m.group(2)) for m in FIGURE_THEN_NAMED.finditer(named)]
    for offset, name, number, unit in found:
        try:
            value = constants.value(name)
            if not isinstance(value, (int, float)):
                continue
            name_unit = constants.unit_of(name)
            unit = unit or name_unit   # "`TRAP_STUB_SIZE` (16) bytes": in the constant's unit
            if UNITS.get(unit, ("count",))[0] != UNITS.get(name_unit, ("count",))[0]:
                continue   # "8 KiB ring (`RX_RING_SIZE_CODE` = 0)": not the same quantity
            wrong = check_figure(number, unit, value, name_unit)
        except FigureError:
            continue       # a name of another kind, or one the checker cannot evaluate
        if wrong:
            figure = f"{number} {unit}".strip() if unit else number
            problems.append((line_of(text, offset), f"says {figure} next to `{name}`, which is {wrong}"))
    return sorted(set(problems))


def next_block(lines, spans, after):
    """The code block that starts after line `after` (1-based) with only blank lines between,
    or None."""
    for start, end, _ in spans:
        if start >= after and not any(lines[i].strip() for i in range(after, start)):
            return "\n".join(lines[start:end])
    return None


def split_unit(expr):
    """("MAX_IDLE_MS", "ms") from "MAX_IDLE_MS ms"; (expr, None) without a unit."""
    match = re.match(rf"(.*?)\s+({UNIT_RE})$", expr.strip(), re.S)
    return (match.group(1), match.group(2)) if match else (expr.strip(), None)



class _FakeTree:
    """Just enough of a Tree for Constants, from a dict of file texts."""

    def __init__(self, files):
        self.files = files

    module_files = Tree.module_files


def self_test():
    """The figure and excerpt logic on small examples, so that a checker bug cannot pass a
    stale chapter; raises AssertionError."""
    docs_output.self_test()
    constants = Constants(_FakeTree({
        "src/net/stack.rs": "pub const MAX_TCP_SOCKETS: usize = 64;\npub const RX_BYTES: usize = 4 * 1024;\n"
                            "pub const TX_BYTES: usize = 32 * 1_024;\nconst CLOSE_LINGER_MS: u64 = 5_000;\n",
        "src/a/x.rs": "const LIMIT: u32 = 1 << 4;\n#[cfg(test)]\nmod tests {\n    const HIDDEN: u32 = 99;\n}\n",
        "src/b/y.rs": "const LIMIT: u32 = 8;\npub const DOUBLE: usize = LIMIT as usize * 2;\n"
                      "const HALF: u64 = u64::MAX / 2u64;\nconst NAMES: [&str; 2] = [\"a\", \"b\"];\n",
    }))
    assert constants.value("MAX_TCP_SOCKETS") == 64 and constants.value("TX_BYTES") == 32768
    assert constants.value("DOUBLE") == 16, "a bare name means its own file's constant first"
    assert constants.value("x::LIMIT") == 16 and constants.value("y::LIMIT") == 8
    assert constants.value("HALF") == (2 ** 64 - 1) // 2, "integer division, u64::MAX"
    for name in ("LIMIT", "HIDDEN", "NAMES"):
        try:
            constants.value(name)
            raise AssertionError(f"{name} should not evaluate")
        except FigureError:
            pass
    assert check_figure("2.25", "MiB", 64 * 36 * 1024, None) is None
    assert check_figure("1.3", "MiB", 64 * 36 * 1024, None) == "2.25 MiB"
    assert check_figure("5", "s", 5000, "ms") is None and check_figure("2", "s", 5000, "ms") == "5 s"
    assert check_figure("1000.15", "Hz", 1193182 / 1193, None) is None
    assert check_figure("1,000", None, 1000, None) is None
    try:
        check_figure("5", "s", 5000, None)
        raise AssertionError("a time without its unit must be refused")
    except FigureError:
        pass
    chapter = ("# 7. Net\n\nUp to 64<!--= MAX_TCP_SOCKETS --> sockets and 2.25 MiB<!--= MAX_TCP_SOCKETS * (RX_BYTES + TX_BYTES) -->,\n"
               "`CLOSE_LINGER_MS` (5 s), `MAX_TCP_SOCKETS` (60), 36 KiB (`RX_BYTES`) and `RX_BYTES` (4 KiB).\n\n"
               "<!-- figures in the next block:\n\"64 TCP sockets\" = MAX_TCP_SOCKETS\n\"ring 9 KiB\" = RX_BYTES\n-->\n"
               "```text\n 64 TCP sockets, ring 9 KiB\n```\n\n```text\n3<!--= RX_BYTES -->\n```\n\n"
               "## Exercises\n\n1. Set `MAX_TCP_SOCKETS` = 8.\n")
    problems = check_figures(chapter, constants)
    assert problems == [
        (4, "says 36 KiB next to `RX_BYTES`, which is 4 KiB"),
        (4, "says 60 next to `MAX_TCP_SOCKETS`, which is 64"),
        (6, '"ring 9 KiB" says 9 KiB, but RX_BYTES gives 4 KiB'),
        (15, "a figure marker inside a code block shows in the book: use a 'figures in the next "
             "block' comment before the block"),
    ], problems


def check_chapter_shape(text, number):
    """A chapter is titled "# N. Title" after its file name, and has a "Try it" section and an
    "Exercises" section with at least two exercises (headings "### Exercise N.M: ...", or, in a
    chapter not yet converted to that format, a numbered list)."""
    problems = []
    if not re.match(rf"# {number}\. \S", text):
        problems.append(f"does not start with the title '# {number}. ...'")
    if not re.search(r"^## Try it", text, re.M):
        problems.append("has no '## Try it' section")
    section = exercises_section(text)
    count = 0 if section is None else max(len(re.findall(r"^\d+\. ", section, re.M)),
                                           len(re.findall(r"^### ", section, re.M)))
    if count < 2:
        problems.append("has no '## Exercises' section with at least two exercises")
    return problems


# ---------------------------------------------------------------------------------------------
# The course's rules (issue 16; the conventions every chapter follows).
#
# Exercises: under "## Exercises", every exercise is a heading
#     ### Exercise N.M: Title ★☆☆
# (N the chapter's number, M counting from 1, one to three stars), whose text has a "*Hint:*"
# paragraph and a "*Done when:*" paragraph naming `make exercise EX=N.M`. Its check is registered
# with @exercise("N.M") in tests/exercises/chNN.py, and its reference solution is
# docs/solutions/N.M.patch. At least two per chapter.
#
# Glossary links: the first mention in a chapter's prose (not in code, not in a heading, not in
# a link's target) of each term docs/glossary.md defines is a link to its anchor there:
# [GDT](glossary.md#gdt). In glossary.md itself, the first mention outside the term's own entry
# links to #anchor.
#
# Anchors: a link `file.md#anchor` (or `#anchor` in the same page) points at a heading id as
# mdBook makes it, or at an explicit <a id="anchor">.
# ---------------------------------------------------------------------------------------------

# Chapters not yet converted to the exercise format and the glossary links: their problems under
# those two rules are listed but do not fail the check. Each chapter's owner takes theirs out of
# this set when the chapter is converted.
NOT_YET_CONVERTED = set()
# Pages of the book that are neither the introduction nor a numbered chapter: listed in
# SUMMARY.md after the chapters.
APPENDICES = ("glossary.md", "figures.md")
EXERCISES_DIR = os.path.join("tests", "exercises")
SOLUTIONS_DIR = os.path.join("docs", "solutions")
STARS = ("★☆☆", "★★☆", "★★★")
EXERCISE_HEADING = re.compile(r"^### Exercise (\d+)\.(\d+): (\S.*?) (\S{3})\s*$")
EXERCISE_DECORATOR = re.compile(r"""^@exercise\(\s*["'](\d+\.\d+)["']\s*\)""", re.M)

# Each glossary anchor and what counts as a mention of its term in prose.
GLOSSARY_TERMS = {
    "gdt": r"\bGDTs?\b",
    "selector": r"(?i:\bselectors?\b)",
    "msr": r"\bMSRs?\b",
    "cr0": r"\bCR0\b",
    "cr3": r"\bCR3\b",
    "cr4": r"\bCR4\b",
    "efer": r"\bEFER\b",
    "tss": r"\bTSS\b",
    "ist": r"\bIST\b",
    "vector": r"(?i:\bvectors?\b)",
    "irq": r"\bIRQs?\b",
    "eoi": r"\bEOIs?\b",
    "pio": r"(?i:\bport I/O\b)|\bPIO\b",
    "mmio": r"\bMMIO\b",
    "dma": r"\bDMA\b",
    "bus-master": r"(?i:\bbus[- ]?master(?:s|ing|ed)?\b)",
    "bar": r"\bBAR[0-5]?s?\b",
    "tlb": r"\bTLBs?\b",
    "nx": r"\bNX\b",
    "wx": r"\bW\^X\b",
    "slirp": r"(?i:\bslirp\b)",
    "tcg": r"\bTCG\b",
    "pic": r"\bPICs?\b|(?<!RFC )\b8259A?s?\b",   # RFC 8259 is JSON, not the PIC
    "pit": r"\bPIT\b|\b8254\b",
    "apic": r"\bAPICs?\b",
    "msi": r"\bMSI(?:-X)?\b",
    "uefi": r"\bUEFI\b",
    "multiboot2": r"(?i:\bmultiboot2\b)",
    "identity-map": r"(?i:\bidentity[- ]map(?:s|ped|ping)?\b)",
    "elcr": r"\bELCR\b",
    "el-torito": r"\bEl Torito\b",
    "framebuffer": r"(?i:\bframe ?buffers?\b)",
    "mac-address": r"(?i:\bMAC address(?:es)?\b)",
    "mtu": r"\bMTUs?\b",
}
MARKDOWN_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(([^)\s]*)(?:\s+\"[^\"]*\")?\)")
HTML_ID = re.compile(r"<[A-Za-z][^>]*?\b(?:id|name)=\"([^\"]+)\"")


def exercises_section(text):
    """The text of the "## Exercises" section (up to the next level-1 or level-2 heading), or None."""
    match = re.search(r"^## Exercises[ \t]*\n(.*?)(?=^##? |\Z)", text, re.M | re.S)
    return match.group(1) if match else None


def registered_checks(files):
    """{"N.M": "tests/exercises/chNN.py"} from the @exercise decorators of `files` (path -> text)."""
    found = {}
    for path, text in files.items():
        if re.fullmatch(r"ch\d\d\.py", os.path.basename(path)) and os.path.dirname(path) == EXERCISES_DIR:
            for number in EXERCISE_DECORATOR.findall(text):
                found[number] = path
    return found


def solution_numbers():
    """Every N.M with a docs/solutions/N.M.patch."""
    folder = os.path.join(ROOT, SOLUTIONS_DIR)
    return {name[:-len(".patch")] for name in os.listdir(folder) if re.fullmatch(r"\d+\.\d+\.patch", name)}


def check_exercises(text, chapter, checks, solutions):
    """Problems of a chapter's exercises with the course's format (see above). `checks` maps
    each registered N.M to its file, `solutions` is the set of N.M with a patch."""
    section = exercises_section(text)
    if section is None:
        return ["has no '## Exercises' section"]
    problems = []
    parts = re.split(r"^(### .*)$", section, flags=re.M)
    if re.search(r"^\d+\. ", parts[0], re.M):
        problems.append("Exercises: a numbered list before the first '### Exercise N.M: Title ★☆☆' heading "
                        "(the old format)")
    numbers = []
    for heading, body in zip(parts[1::2], parts[2::2]):
        match = EXERCISE_HEADING.match(heading)
        if not match:
            problems.append(f"`{heading}`: an exercise heading is '### Exercise {chapter}.M: Title ★☆☆'")
            continue
        n, m, _, stars = match.groups()
        number = f"{n}.{m}"
        if int(n) != chapter:
            problems.append(f"exercise {number}: in chapter {chapter} it is numbered {chapter}.M")
        else:
            numbers.append(int(m))
        if stars not in STARS:
            problems.append(f"exercise {number}: its difficulty is one of {', '.join(STARS)}, not {stars}")
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body)]
        if not any(p.startswith("*Hint:*") for p in paragraphs):
            problems.append(f"exercise {number}: no '*Hint:*' paragraph")
        done = [p for p in paragraphs if p.startswith("*Done when:*")]
        if not done:
            problems.append(f"exercise {number}: no '*Done when:*' paragraph")
        elif f"`make exercise EX={number}`" not in done[0]:
            problems.append(f"exercise {number}: its '*Done when:*' does not name `make exercise EX={number}`")
        expected_file = os.path.join(EXERCISES_DIR, f"ch{int(n):02d}.py")
        if number not in checks:
            problems.append(f"exercise {number}: no check registered with @exercise(\"{number}\") in {expected_file}")
        elif checks[number] != expected_file:
            problems.append(f"exercise {number}: its check is in {checks[number]}, not in {expected_file}")
        if number not in solutions:
            problems.append(f"exercise {number}: no reference solution {SOLUTIONS_DIR}/{number}.patch")
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"the exercises are numbered {', '.join(f'{chapter}.{m}' for m in numbers) or 'nothing'}: "
                        f"count {chapter}.1, {chapter}.2, ... in order")
    if len(numbers) < 2:
        problems.append("fewer than two exercises in the '### Exercise N.M: Title ★☆☆' format")
    for number in sorted(checks, key=lambda n: [int(x) for x in n.split(".")]):
        if number.split(".")[0] == str(chapter) and int(number.split(".")[1]) not in numbers:
            problems.append(f"{checks[number]} registers a check for exercise {number}, which the chapter does not have")
    return problems


def prose_mask(text):
    """The text with everything but prose blanked, offsets kept: code blocks, inline code,
    headings, HTML comments and tags, and link targets (a link's text stays)."""
    masked = blank_code(text)

    def blank(match):
        return re.sub(r"[^\n]", " ", match.group(0))

    masked = re.sub(r"<!--.*?-->", blank, masked, flags=re.S)
    masked = re.sub(r"`[^`\n]+`", blank, masked)
    masked = re.sub(r"^#{1,6} .*$", blank, masked, flags=re.M)
    masked = re.sub(r"<[A-Za-z/][^>\n]*>", blank, masked)
    masked = re.sub(r"\]\([^)\s]*(?:\s+\"[^\"]*\")?\)", lambda m: "]" + " " * (len(m.group(0)) - 1), masked)
    return masked


def glossary_link_problems(text, in_glossary=False):
    """(line, problem) for each glossary term whose first mention in the prose is not a link to
    its anchor. In glossary.md (`in_glossary`) the links are "#anchor" and each term's own
    entry, from its <a id> to the next, does not count."""
    masked = prose_mask(text)
    links = []      # (start, end, target) of each link's text
    for match in MARKDOWN_LINK.finditer(blank_code(text)):
        links.append((match.start(1), match.end(1), match.group(2)))
    entries = {}    # anchor -> (start, end) of its entry in the glossary
    if in_glossary:
        ids = [(m.start(), m.group(1)) for m in HTML_ID.finditer(text)]
        for i, (start, anchor) in enumerate(ids):
            entries[anchor] = (start, ids[i + 1][0] if i + 1 < len(ids) else len(text))
    problems = []
    for anchor, pattern in GLOSSARY_TERMS.items():
        own = entries.get(anchor, (0, 0))
        mention = next((m for m in re.finditer(pattern, masked) if not own[0] <= m.start() < own[1]), None)
        if mention is None:
            continue
        wanted = f"#{anchor}" if in_glossary else f"glossary.md#{anchor}"
        linked = any(start <= mention.start() and mention.end() <= end and target == wanted
                     for start, end, target in links)
        if not linked:
            problems.append((line_of(text, mention.start()),
                             f"the first mention of '{mention.group(0)}' is not a link to {wanted}"))
    return sorted(problems)


def mdbook_id(heading):
    """The id mdBook gives a heading: its text (markup removed) lower-cased, letters, digits,
    '_' and '-' kept, spaces turned into '-', everything else dropped."""
    text = MARKDOWN_LINK.sub(lambda m: m.group(1), heading)
    text = re.sub(r"<[^>]*>", "", text).replace("`", "").replace("*", "")
    return "".join(c.lower() if c.isascii() else c for c in text.strip()
                   if c.isalnum() or c in "_-" or c.isspace()).replace(" ", "-").replace("\t", "-")


def anchors_of(text):
    """Every anchor of a page: its headings' ids as mdBook makes them (a repeated id gets -1,
    -2, ...) and every explicit id="..." or name="..."."""
    anchors, seen = set(), {}
    for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", blank_code(text), re.M):
        base = mdbook_id(heading)
        anchor = base if base not in seen else f"{base}-{seen[base]}"
        seen[base] = seen.get(base, 0) + 1
        anchors.add(anchor)
    anchors.update(HTML_ID.findall(blank_code(text)))
    return anchors


def anchor_link_problems(path, text, anchors_by_page):
    """(line, problem) for each link to an anchor that the page it points into does not have.
    `anchors_by_page` maps a page's path (docs/01-boot.md) to its anchors."""
    problems = []
    for match in MARKDOWN_LINK.finditer(prose_links_only(text)):
        target = match.group(2)
        if "#" not in target or re.match(r"[a-z]+:", target):
            continue
        page, anchor = target.split("#", 1)
        page = os.path.normpath(os.path.join(os.path.dirname(path), page)) if page else path
        if page in anchors_by_page and anchor not in anchors_by_page[page]:
            problems.append((line_of(text, match.start()), f"links to {target}, but {page} has no anchor '{anchor}'"))
    return problems


def prose_links_only(text):
    """The text with code blocks and inline code blanked (so that links shown as code are not links)."""
    return re.sub(r"`[^`\n]+`", lambda m: " " * len(m.group(0)), blank_code(text))


def check_glossary_terms(text):
    """The glossary defines every term of GLOSSARY_TERMS under its explicit anchor."""
    ids = set(HTML_ID.findall(text))
    return [f"defines no <a id=\"{anchor}\"></a>" for anchor in GLOSSARY_TERMS if anchor not in ids]


def course_self_test():
    """The course's rules on small examples; raises AssertionError."""
    good = ("# 3. Chapter\n\n## Try it\n\n## Exercises\n\nIntro.\n\n"
            "### Exercise 3.1: Count ticks ★☆☆\n\nDo it.\n\n*Hint:* look.\n\n"
            "*Done when:* `make exercise EX=3.1` passes: it boots.\n\n"
            "### Exercise 3.2: Two words ★★☆\n\n*Hint:* there.\n\n*Done when:* `make exercise EX=3.2` passes.\n\n"
            "---\n\nNext: [chapter 4](04-threads.md).\n")
    checks = {"3.1": "tests/exercises/ch03.py", "3.2": "tests/exercises/ch03.py"}
    assert check_exercises(good, 3, checks, {"3.1", "3.2"}) == [], check_exercises(good, 3, checks, {"3.1", "3.2"})
    bad = (good.replace("3.2: Two words ★★☆", "3.3: Two words ★★★★").replace("*Hint:* look.", "Hint: look.")
           .replace("`make exercise EX=3.1` passes", "it passes") + "\n1. An old one.\n")
    problems = check_exercises(bad.replace("Intro.", "1. Old.\n2. Older."), 3,
                               {**checks, "3.3": "tests/exercises/ch04.py"}, {"3.1"})
    assert problems == [
        "Exercises: a numbered list before the first '### Exercise N.M: Title ★☆☆' heading (the old format)",
        "exercise 3.1: no '*Hint:*' paragraph",
        "exercise 3.1: its '*Done when:*' does not name `make exercise EX=3.1`",
        "`### Exercise 3.3: Two words ★★★★`: an exercise heading is '### Exercise 3.M: Title ★☆☆'",
        "fewer than two exercises in the '### Exercise N.M: Title ★☆☆' format",
        "tests/exercises/ch03.py registers a check for exercise 3.2, which the chapter does not have",
        "tests/exercises/ch04.py registers a check for exercise 3.3, which the chapter does not have",
    ], problems
    problems = check_exercises(good.replace("3.2: Two words ★★☆", "4.2: Two words ☆☆☆"), 3, checks, {"3.1"})
    assert problems == [
        "exercise 4.2: in chapter 3 it is numbered 3.M",
        "exercise 4.2: its difficulty is one of ★☆☆, ★★☆, ★★★, not ☆☆☆",
        "exercise 4.2: its '*Done when:*' does not name `make exercise EX=4.2`",
        "exercise 4.2: no check registered with @exercise(\"4.2\") in tests/exercises/ch04.py",
        "exercise 4.2: no reference solution docs/solutions/4.2.patch",
        "fewer than two exercises in the '### Exercise N.M: Title ★☆☆' format",
        "tests/exercises/ch03.py registers a check for exercise 3.2, which the chapter does not have",
    ], problems
    assert registered_checks({"tests/exercises/ch03.py": '@exercise("3.1")\ndef a():\n    pass\n',
                              "tests/exercises/kit.py": '@exercise("9.9")\n'}) == {"3.1": "tests/exercises/ch03.py"}
    # Glossary links: the first mention in prose, not in code, headings, comments or link targets.
    chapter = ("# 1. Boot with the GDT\n\n<!-- the GDT -->\n`GDT` and\n\n```\nGDT\n```\n\n"
               "The [GDT](glossary.md#gdt) holds a [selector](glossary.md#tss); a GDT again.\n"
               "A [page](02-memory.md#dma) and DMA, [the UEFI path](#uefi) of W^X.\n")
    assert glossary_link_problems(chapter) == [
        (10, "the first mention of 'selector' is not a link to glossary.md#selector"),
        (11, "the first mention of 'DMA' is not a link to glossary.md#dma"),
        (11, "the first mention of 'UEFI' is not a link to glossary.md#uefi"),
        (11, "the first mention of 'W^X' is not a link to glossary.md#wx"),
    ], glossary_link_problems(chapter)
    glossary = ('<a id="gdt"></a>\n### GDT\n\nThe GDT holds segments; see [TSS](#tss).\n\n'
                '<a id="tss"></a>\n### TSS\n\nThe TSS lives in the GDT.\n')
    assert glossary_link_problems(glossary, in_glossary=True) == [
        (9, "the first mention of 'GDT' is not a link to #gdt")], glossary_link_problems(glossary, in_glossary=True)
    assert check_glossary_terms(glossary)[:2] == ['defines no <a id="selector"></a>', 'defines no <a id="msr"></a>']
    # Anchors: mdBook's heading ids, repeated ids numbered, explicit ids.
    page = ("# 1. The boot path: from GRUB to `kmain`\n\n## The UEFI path: no BIOS, no text mode\n\n"
            "## Step 2: the 32-bit trampoline (`arch/x86_64/boot32.S`)\n\n## Try it\n\n## Try it\n\n"
            "### Exercise 1.1: Count *ticks* ★☆☆\n\n<a id=\"gdt\"></a>\n```\n# not a heading\n```\n")
    assert anchors_of(page) == {"1-the-boot-path-from-grub-to-kmain", "the-uefi-path-no-bios-no-text-mode",
                                "step-2-the-32-bit-trampoline-archx86_64boot32s", "try-it", "try-it-1",
                                "exercise-11-count-ticks-", "gdt"}, anchors_of(page)
    text = ("[a](01-boot.md#try-it) [b](01-boot.md#nowhere) [c](#here) [d](#gone) `[e](#code)`\n"
            "[f](https://example.com/#x) [g](../README.md#top)\n")
    anchors = {"docs/01-boot.md": {"try-it"}, "docs/x.md": {"here"}, "README.md": set()}
    assert anchor_link_problems("docs/x.md", text, anchors) == [
        (1, "links to 01-boot.md#nowhere, but docs/01-boot.md has no anchor 'nowhere'"),
        (1, "links to #gone, but docs/x.md has no anchor 'gone'"),
        (2, "links to ../README.md#top, but README.md has no anchor 'top'")], anchor_link_problems("docs/x.md", text, anchors)


def check_summary_numbers(text):
    """The table of contents numbers each chapter as its file does, in order, and lists the
    appendices (APPENDICES) after the chapters."""
    problems = []
    numbers = []
    for title, link in re.findall(r"^- \[([^]]*)\]\((\d\d-[^)]+\.md)\)", text, re.M):
        number = int(link[:2])
        numbers.append(number)
        if not title.startswith(f"{number}. "):
            problems.append(f"lists {link} as '{title}': its title should start with '{number}. '")
    if numbers != sorted(numbers):
        problems.append("lists the chapters out of order")
    entries = re.findall(r"\]\(([^)#]+\.md)\)", text)
    chapters = [i for i, link in enumerate(entries) if re.match(r"\d\d-", link)]
    for i, link in enumerate(entries):
        if link == "README.md" or re.match(r"\d\d-[a-z0-9-]+\.md$", link):
            continue
        if link not in APPENDICES:
            problems.append(f"lists {link}, which is neither a chapter (NN-name.md) nor an appendix "
                            f"({', '.join(APPENDICES)})")
        elif chapters and i < chapters[-1]:
            problems.append(f"lists the appendix {link} before the last chapter")
    return problems


def main(args):
    if args in (["--boot"], ["--update"]):
        return boot_check(update=args == ["--update"])
    if args:
        print(__doc__)
        return 2
    tree = Tree()
    constants = Constants(tree)
    targets = makefile_targets()
    documents = ["README.md"] + sorted(
        os.path.join("docs", f) for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md"))
    checks = registered_checks(tree.files)
    solutions = solution_numbers()
    anchors_by_page = {path: anchors_of(read(path)) for path in documents}
    passed = failed = 0
    try:
        self_test()
        course_self_test()
        passed += 1
        print("docs: check_docs.py self-test ... ok")
    except AssertionError as error:
        failed += 1
        print(f"docs: check_docs.py self-test ... FAILED\n    {error!r}")
    for path in documents:
        text = read(path)
        problems = check_document(path, tree, targets)
        problems += [f"line {line}: {problem}" for line, problem in check_figures(text, constants)]
        problems += [f"line {line}: {problem}" for line, problem in anchor_link_problems(path, text, anchors_by_page)]
        allowed = []    # problems of a chapter not yet converted to the course's rules
        chapter = re.match(r"(\d\d)-[a-z0-9-]+\.md$", os.path.basename(path))
        if path.startswith("docs") and chapter:
            number = int(chapter.group(1))
            problems += check_chapter_shape(text, number)
            course = check_exercises(text, number, checks, solutions)
            course += [f"line {line}: {problem}" for line, problem in glossary_link_problems(text)]
            (allowed if number in NOT_YET_CONVERTED else problems).extend(course)
        if path == os.path.join("docs", "glossary.md"):
            problems += check_glossary_terms(text)
            problems += [f"line {line}: {problem}" for line, problem in glossary_link_problems(text, in_glossary=True)]
        if path == os.path.join("docs", "SUMMARY.md"):
            problems += check_summary_numbers(text)
            listed = set(re.findall(r"\]\(([^)]+\.md)\)", text))
            for chapter in listed:
                if not os.path.exists(os.path.join(ROOT, "docs", chapter)):
                    problems.append(f"lists {chapter}, which does not exist")
            for chapter in os.listdir(os.path.join(ROOT, "docs")):
                if chapter.endswith(".md") and chapter not in listed | {"SUMMARY.md"}:
                    problems.append(f"does not list {chapter}")
        if problems:
            failed += 1
            print(f"docs: {path} ... FAILED")
            for problem in problems:
                print(f"    {problem}")
        else:
            passed += 1
            print(f"docs: {path} ... ok" + (f" ({len(allowed)} course problems allowed until the chapter is "
                                            f"converted: NOT_YET_CONVERTED)" if allowed else ""))
        for problem in allowed:
            print(f"    not yet converted: {problem}")
    orphans = [f"{SOLUTIONS_DIR}/{number}.patch has no check registered with @exercise(\"{number}\")"
               for number in sorted(solutions - set(checks))]
    if orphans:
        failed += 1
        print(f"docs: {SOLUTIONS_DIR} ... FAILED")
        for problem in orphans:
            print(f"    {problem}")
    else:
        passed += 1
        print(f"docs: {SOLUTIONS_DIR} ... ok")
    print(f"docs: {passed} passed, {failed} failed")
    return 1 if failed else 0


def boot_check(update):
    """--boot: every "output of" excerpt against a real boot; --update: rewrite them."""
    docs_output.build_kernel()
    if update:
        unfixed = docs_output.update_all()
        for problem in unfixed:
            print(f"docs: cannot rewrite {problem}")
        return 1 if unfixed else 0
    results = docs_output.check_all()
    for name, error in results:
        print(f"docs: {name} ... ok" if error is None else f"docs: {name} ... FAILED\n    {error}")
    failed = sum(1 for _, error in results if error)
    print(f"docs: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
