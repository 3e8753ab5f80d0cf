"""Checks of chapter 2's exercises (docs/02-memory.md)."""

import os
import re
import subprocess

from kit import ROOT, NotYet, boot, exercise, unit

ELF = os.path.join(ROOT, "target", "x86_64-unknown-none", "release", "micro-kernel")


def symbol_addresses(*names):
    """The addresses of `names` in the kernel ELF (global or local symbols), from nm."""
    output = subprocess.run(["nm", ELF], stdout=subprocess.PIPE, text=True, check=True).stdout
    found = {name: int(address, 16) for address, _, name in
             (line.split() for line in output.splitlines() if len(line.split()) == 3)}
    missing = [name for name in names if name not in found]
    if missing:
        raise NotYet(f"the kernel has no symbol {', '.join(missing)} (arch/x86_64/boot32.S)")
    return [found[name] for name in names]


@exercise("2.1")
def give_the_boot_tables_back():
    """The trampoline's page-table frames go back to the frame allocator."""
    with boot() as vm:
        tlb = vm.monitor("info tlb")
    pml4, pd = symbol_addresses("boot_pml4", "boot_pd")
    tables = range(pml4, pd + 4 * 4096)
    # `info tlb` lines: "virtual: physical flags". Stack pages are the mappings whose virtual
    # address is not their physical one (the stack area, at 0xffffc000...).
    reused = [line for line in tlb.splitlines()
              if (m := re.match(r"([0-9a-f]{16}): ([0-9a-f]{16}) ", line))
              and m.group(1) != m.group(2) and int(m.group(2), 16) in tables]
    if not reused:
        raise NotYet(f"no page of the running kernel lies on the boot tables' frames "
                     f"({tables.start:#x}..{tables.stop:#x}): `info tlb` shows them only in the "
                     "identity map, so the frame allocator never handed them out")


@exercise("2.2")
def prefer_high_memory():
    """Single frames come from above 4 GiB while there are any; DMA still finds room below."""
    unit("2.2")


@exercise("2.3")
def a_guard_above_too():
    """Each stack slot keeps its top page unmapped too."""
    unit("2.3")
