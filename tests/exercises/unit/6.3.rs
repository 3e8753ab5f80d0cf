//! Exercise 6.3: the multicast filter (docs/06-rtl8139.md). `multicast_filter` against
//! indexes computed the way Linux's 8139too (ether_crc(6, addr) >> 26) and QEMU's model
//! (net_crc32(addr, 6) >> 26) compute them, which agree.

use crate::drivers::rtl8139::registers::multicast_filter;

/// A filter with exactly the bits `indexes` set.
fn bits(indexes: &[u32]) -> u64 {
    indexes.iter().fold(0, |filter, index| filter | 1 << index)
}

#[test]
fn each_group_sets_the_bit_its_crc_selects() {
    for (group, index) in [
        ([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01], 31), // 224.0.0.1, all hosts (RFC 1112)
        ([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb], 15), // 224.0.0.251, mDNS
        ([0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa], 43), // 239.255.255.250, SSDP
        ([0x33, 0x33, 0x00, 0x00, 0x00, 0x01], 62), // ff02::1, IPv6 all nodes
        ([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 63), // broadcast, had it been a group
    ] {
        assert_eq!(
            multicast_filter(&[group]),
            bits(&[index]),
            "group {group:02x?} selects bit {index} of MAR0-7 (MAR{} bit {})",
            index / 8,
            index % 8
        );
    }
}

#[test]
fn groups_add_up_and_none_is_empty() {
    assert_eq!(multicast_filter(&[]), 0, "no group: no multicast frame passes");
    let groups = [
        [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01],
        [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb],
        [0x33, 0x33, 0x00, 0x00, 0x00, 0x01],
    ];
    assert_eq!(multicast_filter(&groups), bits(&[31, 15, 62]));
    let twice = [groups[0], groups[0]];
    assert_eq!(multicast_filter(&twice), bits(&[31]));
}
