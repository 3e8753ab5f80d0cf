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
- every chapter (docs/NN-name.md) is titled "# N. Title", has a "Try it" section and an
  "Exercises" section with at least two exercises;
- every chapter listed in docs/SUMMARY.md exists, every chapter is listed, in order, and each
  entry's title starts with the chapter's number.
Prints one line per document and ends with "docs: N passed, M failed".
"""

import os
import re
import sys

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


def makefile_targets():
    return set(re.findall(r"^([A-Za-z][A-Za-z0-9_-]*):", read("Makefile"), re.M))


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
        if why:
            problems.append(f"cites `{code}`, but {why}")
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


def check_chapter_shape(text, number):
    """A chapter is titled "# N. Title" after its file name, and has a "Try it" section and an
    "Exercises" section with at least two numbered exercises."""
    problems = []
    if not re.match(rf"# {number}\. \S", text):
        problems.append(f"does not start with the title '# {number}. ...'")
    if not re.search(r"^## Try it", text, re.M):
        problems.append("has no '## Try it' section")
    exercises = re.search(r"^## Exercises\n(.*?)(?=^#|\Z)", text, re.M | re.S)
    if not exercises or len(re.findall(r"^\d+\. ", exercises.group(1), re.M)) < 2:
        problems.append("has no '## Exercises' section with at least two numbered exercises")
    return problems


def check_summary_numbers(text):
    """The table of contents numbers each chapter as its file does, in order."""
    problems = []
    numbers = []
    for title, link in re.findall(r"^- \[([^]]*)\]\((\d\d-[^)]+\.md)\)", text, re.M):
        number = int(link[:2])
        numbers.append(number)
        if not title.startswith(f"{number}. "):
            problems.append(f"lists {link} as '{title}': its title should start with '{number}. '")
    if numbers != sorted(numbers):
        problems.append("lists the chapters out of order")
    return problems


def main():
    tree = Tree()
    targets = makefile_targets()
    documents = ["README.md"] + sorted(
        os.path.join("docs", f) for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md"))
    passed = failed = 0
    for path in documents:
        problems = check_document(path, tree, targets)
        chapter = re.match(r"(\d\d)-[a-z0-9-]+\.md$", os.path.basename(path))
        if path.startswith("docs") and chapter:
            problems += check_chapter_shape(read(path), int(chapter.group(1)))
        if path == os.path.join("docs", "SUMMARY.md"):
            problems += check_summary_numbers(read(path))
            listed = set(re.findall(r"\]\(([^)]+\.md)\)", read(path)))
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
            print(f"docs: {path} ... ok")
    print(f"docs: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
