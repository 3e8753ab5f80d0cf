"""Checks of chapter 5's exercises (docs/05-pci.md)."""

import re

from kit import NotYet, boot, exercise, unit


@exercise("5.1")
def command_register_in_the_listing():
    """The command register of each function in the boot listing (Control: I/O+ Mem+ BusMaster-)."""
    unit("5.1")


@exercise("5.2")
def capability_list_and_msi():
    """Each function's capability list in the boot listing; the 82574L's MSI on q35."""
    unit("5.2")
    with boot(machine="q35", nic_model=None) as vm:
        log = vm.log()
    block = re.search(r"pci: 00:02\.0 [^\n]*\[8086:10d3\][^\n]*\n((?:[^\n]*pci:     [^\n]*\n)*)", log)
    if not block:
        raise NotYet(f"the q35 boot log has no 82574L at 00:02.0:\n{log[-2000:]}")
    if not re.search(r"pci:     Capabilities: \[[0-9a-f]{2}\] MSI\n", block.group(1)):
        raise NotYet("booted on q35, the network card at 00:02.0 (the 82574L) shows no "
                     f"'Capabilities: [..] MSI' line:\n{block.group(0)}")


@exercise("5.3")
def walking_the_bridges():
    """pci::walk: the bus tree through its PCI-to-PCI bridges instead of every bus."""
    unit("5.3")
