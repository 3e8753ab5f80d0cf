"""Checks of chapter 6's exercises (docs/06-rtl8139.md). The boots use the RTL8139."""

import json

from kit import NotYet, boot, exercise, expect_in_log, http_get, unit

# RCR bits (RTL8139 datasheet, section 5, RCR): AAP accept all physical addresses, APM our own,
# AB broadcast.
RCR_AAP, RCR_APM, RCR_AB = 1 << 0, 1 << 1, 1 << 3


def nic_stats(vm):
    status, _, body = http_get(vm, "/api/stats")
    if status != 200:
        raise NotYet(f"/api/stats answered {status}")
    return json.loads(body)["nic"]


@exercise("6.1")
def link_changes_counted():
    """The link's ups and downs counted in NicStats and /api/stats (link_changes)."""
    with boot() as vm:
        before = nic_stats(vm).get("link_changes")
        if not isinstance(before, int):
            raise NotYet("/api/stats has no \"link_changes\" in its nic object")
        downs = vm.log().count("rtl8139: link down")
        vm.monitor("set_link n0 off")
        vm.wait_for(r"rtl8139: link down", timeout=10)
        vm.monitor("set_link n0 on")
        vm.wait_for(r"(?s)rtl8139: link down.*rtl8139: link up", timeout=10)
        nic = nic_stats(vm)
        if vm.log().count("rtl8139: link down") != downs + 1:
            raise NotYet("the link went down once, but the log does not say so once")
    if nic["link_changes"] != before + 2 or not nic["link_up"]:
        raise NotYet(f"the link went down and came back up: link_changes went from {before} to "
                     f"{nic['link_changes']}, link_up is {nic['link_up']}")


@exercise("6.2")
def promiscuous_mode_on_the_command_line():
    """`promisc` on the command line sets RCR.AAP; the driver logs RCR as the chip holds it."""
    with boot("promisc") as vm:
        log = vm.log()
    if "ignoring unknown kernel argument" in log:
        raise NotYet("promisc is still an unknown kernel argument")
    match = expect_in_log(log, r"rtl8139: promiscuous mode, RCR (0x[0-9a-f]+)",
                          "booted with promisc, the driver does not log its promiscuous mode")
    rcr = int(match.group(1), 16)
    if rcr & (RCR_AAP | RCR_APM | RCR_AB) != RCR_AAP | RCR_APM | RCR_AB:
        raise NotYet(f"RCR reads {rcr:#x}: AAP (bit 0), APM (bit 1) and AB (bit 3) should all be set")
    with boot() as vm:
        log = vm.log()
    if "promiscuous" in log:
        raise NotYet("booted without promisc, the driver still says it is promiscuous")


@exercise("6.3")
def the_multicast_filter():
    """MAR0-7: the multicast hash filter of a list of groups (registers::multicast_filter)."""
    unit("6.3")
