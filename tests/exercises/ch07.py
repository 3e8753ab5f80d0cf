"""Checks of chapter 7's exercises (docs/07-e1000.md). Each boots on QEMU's e1000 (the
82540EM of the pc machine)."""

import json
import re

from kit import NotYet, boot, exercise, expect_in_log, http_get


def nic_stats(vm):
    status, _, body = http_get(vm, "/api/stats")
    if status != 200:
        raise NotYet(f"/api/stats answered {status}")
    return json.loads(body)["nic"]


@exercise("7.1")
def a_longer_receive_ring():
    """256 receive descriptors on the e1000, wrapped by real traffic."""
    with boot(nic_model="e1000") as vm:
        expect_in_log(vm.log(), r"e1000: 0000:00:03\.0 [^\n]* 256 receive and 64 transmit descriptors",
                      "the e1000's bring-up line does not say 256 receive descriptors")
        for _ in range(400):
            if nic_stats(vm)["rx_packets"] > 2 * 256:
                break
            status, _, _ = http_get(vm, "/")
            if status != 200:
                raise NotYet(f"GET / answered {status} after {nic_stats(vm)['rx_packets']} frames")
        nic = nic_stats(vm)
    if nic["rx_packets"] <= 2 * 256:
        raise NotYet(f"only {nic['rx_packets']} frames received after 400 requests")
    if nic["rx_errors"] or nic["rx_ring_overflows"]:
        raise NotYet(f"errors or overflows with the longer ring: {nic}")


@exercise("7.2")
def the_cards_own_counters():
    """GPRC and GPTC read into NicStats and /api/stats (card_rx_packets, card_tx_packets)."""
    with boot(nic_model="e1000") as vm:
        for _ in range(20):
            http_get(vm, "/")
        nic_stats(vm)
        nic = nic_stats(vm)
    missing = [name for name in ("card_rx_packets", "card_tx_packets") if not isinstance(nic.get(name), int)]
    if missing:
        raise NotYet(f"/api/stats has no {' or '.join(missing)} in its nic object")
    for card, driver in (("card_rx_packets", "rx_packets"), ("card_tx_packets", "tx_packets")):
        if nic[driver] < 40 or abs(nic[card] - nic[driver]) > 10:
            raise NotYet(f"{card} = {nic[card]} but {driver} = {nic[driver]}: after twenty requests "
                         "and a quiet moment the card and the driver count the same frames")


@exercise("7.3")
def speed_and_duplex():
    """The link's speed and duplex, from STATUS, in the bring-up line and when the link comes back."""
    speed = r"link up at 1000 Mbit/s, full duplex"
    with boot(nic_model="e1000") as vm:
        expect_in_log(vm.log(), rf"e1000: 0000:00:03\.0 [^\n]*{speed}, \d+ receive",
                      "the e1000's bring-up line does not give the link's speed and duplex")
        before = len(re.findall(rf"e1000: {speed}\n", vm.log()))
        vm.monitor("set_link n0 off")
        try:
            vm.wait_for(r"e1000: link down", timeout=10)
            vm.monitor("set_link n0 on")
            vm.wait_for(rf"(?s)e1000: link down.*e1000: {speed}\n", timeout=10)
        except AssertionError as error:
            raise NotYet(f"after set_link n0 off and on: {error}") from None
        if len(re.findall(rf"e1000: {speed}\n", vm.log())) != before + 1:
            raise NotYet("the link came back once, but the log says so a different number of times")
