//! Exercise 5.3: walking the bridges (docs/05-pci.md). `pci::walk` on a configuration space
//! with a bridge to bus 5, a device on a bus nothing leads to, and a bridge that leads back to
//! bus 0, against `pci::scan` on the same space.

use crate::pci::{PciFunctionInfo, scan, walk};
use pci_types::{ConfigRegionAccess, PciAddress};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

/// Functions as 64 dwords of header, no BARs; empty slots read all ones. Counts the reads.
#[derive(Default)]
struct Space {
    functions: RefCell<BTreeMap<(u8, u8, u8), [u32; 64]>>,
    reads: Cell<usize>,
}

impl Space {
    /// `header_type`: 0x00 endpoint, 0x01 PCI-to-PCI bridge, | 0x80 multi-function.
    fn add(&self, at: (u8, u8, u8), class: (u8, u8), header_type: u8, secondary_bus: u8) {
        let mut dwords = [0u32; 64];
        let device_id = 0x1000 | u32::from(at.0) << 8 | u32::from(at.1) << 3 | u32::from(at.2);
        dwords[0] = 0x8086 | device_id << 16;
        dwords[1] = 0b111;
        dwords[2] = u32::from(class.0) << 24 | u32::from(class.1) << 16;
        dwords[3] = u32::from(header_type) << 16;
        if header_type & 0x7f == 0x01 {
            // Primary, secondary and subordinate bus numbers (offsets 0x18-0x1A).
            dwords[6] = u32::from(at.0) | u32::from(secondary_bus) << 8 | u32::from(secondary_bus) << 16;
        }
        self.functions.borrow_mut().insert(at, dwords);
    }
}

impl ConfigRegionAccess for Space {
    unsafe fn read(&self, address: PciAddress, offset: u16) -> u32 {
        self.reads.set(self.reads.get() + 1);
        let key = (address.bus(), address.device(), address.function());
        self.functions
            .borrow()
            .get(&key)
            .map_or(0xffff_ffff, |dwords| dwords[usize::from(offset / 4)])
    }

    unsafe fn write(&self, address: PciAddress, offset: u16, value: u32) {
        let key = (address.bus(), address.device(), address.function());
        if let Some(dwords) = self.functions.borrow_mut().get_mut(&key) {
            if offset == 4 {
                dwords[1] = value;
            }
        }
    }
}

/// Bus 0: a host bridge, a bridge to bus 5, an ISA bridge. Bus 5: a two-function device and
/// a bridge misprogrammed to lead back to bus 0. Bus 7: a device no bridge leads to.
fn tree() -> Space {
    let space = Space::default();
    space.add((0, 0x00, 0), (0x06, 0x00), 0x00, 0);
    space.add((0, 0x1e, 0), (0x06, 0x04), 0x01, 5);
    space.add((0, 0x1f, 0), (0x06, 0x01), 0x00, 0);
    space.add((5, 0x00, 0), (0x02, 0x00), 0x80, 0);
    space.add((5, 0x00, 2), (0x02, 0x00), 0x00, 0);
    space.add((5, 0x04, 0), (0x06, 0x04), 0x01, 0);
    space.add((7, 0x03, 0), (0x02, 0x00), 0x00, 0);
    space
}

fn address(function: &PciFunctionInfo) -> (u8, u8, u8) {
    let a = function.address;
    (a.bus(), a.device(), a.function())
}

/// Runs `walk` in a thread of its own: a walk that never ends fails instead of hanging.
/// Returns its functions (as their Debug text, to compare every field) and the reads made.
fn walked() -> (Vec<((u8, u8, u8), String)>, usize) {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let space = tree();
        let found: Vec<_> = walk(&space).iter().map(|f| (address(f), format!("{f:?}"))).collect();
        let _ = sender.send((found, space.reads.get()));
    });
    receiver
        .recv_timeout(Duration::from_secs(20))
        .expect("walk did not finish: does a bridge back to bus 0 make it loop?")
}

#[test]
fn walk_finds_the_tree_and_only_the_tree() {
    let (found, _) = walked();
    let addresses: Vec<_> = found.iter().map(|(at, _)| *at).collect();
    assert_eq!(
        addresses,
        [(0, 0x00, 0), (0, 0x1e, 0), (0, 0x1f, 0), (5, 0x00, 0), (5, 0x00, 2), (5, 0x04, 0)],
        "every function behind bus 0 and its bridges, once each, in bus, device, function order \
         (and not 07:03.0, which no bridge leads to)"
    );
}

#[test]
fn walk_reads_the_functions_as_scan_does() {
    let (found, _) = walked();
    let scanned: BTreeMap<_, _> = scan(&tree()).iter().map(|f| (address(f), format!("{f:?}"))).collect();
    assert_eq!(scanned.len(), 7, "scan finds every function, 07:03.0 included");
    for (at, walked) in &found {
        assert_eq!(Some(walked), scanned.get(at), "walk and scan disagree on {at:?}");
    }
}

#[test]
fn walk_reads_far_less_than_scan() {
    let (_, walk_reads) = walked();
    let space = tree();
    scan(&space);
    let scan_reads = space.reads.get();
    assert!(scan_reads >= 8192, "the scan probes every bus ({scan_reads} reads)");
    assert!(
        walk_reads < 1000,
        "walk made {walk_reads} configuration reads (scan: {scan_reads}): it should probe only the \
         buses the bridges lead to"
    );
}
