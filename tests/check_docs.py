"""Checks that the walkthrough matches the tree (run by `make test`).

For README.md and every docs/*.md chapter:
- every file path it cites (src/..., arch/..., tests/..., and so on) exists;
- every function or type it cites in backticks (`kmain`, `KernelArgs::parse`, `console::init()`)
  is defined somewhere in the sources (as a fn, struct, enum, trait, type, const, static, macro,
  module, or an assembly label);
- every command in a "Try it" section is a real Makefile target (`make X`) or a known tool;
- every chapter listed in docs/SUMMARY.md exists, and every chapter is listed.
Prints one line per document and ends with "docs: N passed, M failed".
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_DIRS = ["src", "arch", "tests", "tools", "www"]
PATH_RE = re.compile(r"(?<![\w/.-])((?:src|arch|grub|iso|tests|tools|www|docs|\.ci)/[A-Za-z0-9_./-]*[A-Za-z0-9_])")
CODE_RE = re.compile(r"`([^`\n]+)`")
IDENT_PATH_RE = re.compile(r"^(?:[a-z_][a-z0-9_]*::)*([A-Za-z_][A-Za-z0-9_]*)(?:::[A-Za-z_][A-Za-z0-9_]*)?(\(\))?$")
# Tools a "Try it" block may use besides make; each is a Debian package or part of QEMU/gdb.
KNOWN_TOOLS = {
    "make", "gdb", "curl", "qemu-system-x86_64", "sudo", "dd", "lsblk", "addr2line", "objdump",
    "readelf", "nm", "grub-file", "tshark", "tcpdump", "ping", "wrk", "ab", "python3", "cargo",
    "git", "ss", "xxd", "grep", "cat", "echo", "ls", "(qemu)", "lspci", "chromium",
}


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def source_definitions():
    names = set()
    pattern = re.compile(
        r"\b(?:fn|struct|enum|trait|type|const|static|mod|macro_rules!)\s+([A-Za-z_][A-Za-z0-9_]*)"
        r"|^\s*\.?([A-Za-z_][A-Za-z0-9_]*):|^\s*\.global\s+([A-Za-z_][A-Za-z0-9_]*)"
        r"|^\s*(?:pub )?([a-z_][a-z0-9_]*)\s*[:(]|^def ([A-Za-z_][A-Za-z0-9_]*)|^([a-z][a-z0-9-]*):",
        re.M)
    for top in SOURCE_DIRS + ["."]:
        base = os.path.join(ROOT, top)
        walk = os.walk(base) if top != "." else [(ROOT, [], ["Makefile"])]
        for dirpath, _, files in walk:
            for name in files:
                if not name.endswith((".rs", ".S", ".ld", ".py", ".sh", ".js", "Makefile")):
                    continue
                with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
                    for match in pattern.finditer(f.read()):
                        names.update(g for g in match.groups() if g)
            for name in os.listdir(base) if os.path.isdir(base) else []:
                names.add(os.path.splitext(name)[0])
    # Lint and dependency names in Cargo.toml.
    names.update(re.findall(r"^([a-z_][a-z0-9_-]*)\s*=", read("Cargo.toml"), re.M))
    # Module names: every folder and file under src/.
    for dirpath, dirs, files in os.walk(os.path.join(ROOT, "src")):
        names.update(dirs)
        names.update(os.path.splitext(f)[0] for f in files)
    return names


def makefile_targets():
    return set(re.findall(r"^([A-Za-z][A-Za-z0-9_-]*):", read("Makefile"), re.M))


def try_it_commands(text):
    """Command lines inside code blocks of sections whose heading starts with 'Try it'."""
    commands = []
    for section in re.split(r"^#+ ", text, flags=re.M):
        if not section.lower().startswith("try it"):
            continue
        for block in re.findall(r"```(?:sh|bash|console)?\n(.*?)```", section, re.S):
            joined = re.sub(r"\\\n\s*", " ", block)
            commands += [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]
    return commands


def check_document(path, definitions, targets):
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
    for code in set(CODE_RE.findall(text)):
        match = IDENT_PATH_RE.match(code.strip())
        if not match:
            continue
        # Only names that look like code: a path with ::, a call with (), or snake_case/CamelCase
        # identifiers containing an underscore or an inner capital.
        name = code.strip().rstrip("()").split("::")[-1]
        looks_like_code = "::" in code or match.group(2) or "_" in name or re.search(r"[a-z][A-Z]", name)
        if looks_like_code and name not in definitions:
            problems.append(f"cites `{code}`, but nothing in the sources defines {name}")
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
    return problems


def main():
    definitions = source_definitions()
    targets = makefile_targets()
    documents = ["README.md"] + sorted(
        os.path.join("docs", f) for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md"))
    passed = failed = 0
    for path in documents:
        problems = check_document(path, definitions, targets)
        if path == os.path.join("docs", "SUMMARY.md"):
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
