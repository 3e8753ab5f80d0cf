//! Human names for the PCI functions a learner meets under QEMU, in the style of `lspci`.
//! The numbers come from the PCI-SIG class code specification and from the vendors' own
//! device IDs (the same data as the pci.ids database, reduced to the common cases).

use pci_types::device_type::DeviceType;

/// The class name `lspci` prints, decoded through pci_types' [`DeviceType`].
pub fn class_name(class: u8, subclass: u8) -> &'static str {
    match DeviceType::from((class, subclass)) {
        DeviceType::LegacyNotVgaCompatible => "Non-VGA unclassified device",
        DeviceType::LegacyVgaCompatible => "VGA compatible unclassified device",
        DeviceType::ScsiBusController => "SCSI storage controller",
        DeviceType::IdeController => "IDE interface",
        DeviceType::FloppyController => "Floppy disk controller",
        DeviceType::RaidController => "RAID bus controller",
        DeviceType::AtaController => "ATA controller",
        DeviceType::SataController => "SATA controller",
        DeviceType::NvmeController => "Non-Volatile memory controller",
        DeviceType::EthernetController => "Ethernet controller",
        DeviceType::OtherNetworkController => "Network controller",
        DeviceType::VgaCompatibleController => "VGA compatible controller",
        DeviceType::OtherDisplayController => "Display controller",
        DeviceType::AudioDevice => "Audio device",
        DeviceType::RamController => "RAM memory",
        DeviceType::HostBridge => "Host bridge",
        DeviceType::IsaBridge => "ISA bridge",
        DeviceType::PciPciBridge => "PCI bridge",
        DeviceType::OtherBridgeDevice => "Bridge",
        DeviceType::SerialController => "Serial controller",
        DeviceType::UsbController => "USB controller",
        DeviceType::SmBusController => "SMBus",
        _ => base_class_name(class),
    }
}

/// The name of a base class alone, for the subclasses the table above does not list.
fn base_class_name(class: u8) -> &'static str {
    match class {
        0x00 => "Unclassified device",
        0x01 => "Mass storage controller",
        0x02 => "Network controller",
        0x03 => "Display controller",
        0x04 => "Multimedia controller",
        0x05 => "Memory controller",
        0x06 => "Bridge",
        0x07 => "Communication controller",
        0x08 => "Generic system peripheral",
        0x09 => "Input device controller",
        0x0c => "Serial bus controller",
        0x0d => "Wireless controller",
        _ => "Unknown class",
    }
}

/// The vendor's name, or `None` for a vendor ID this table does not know.
pub fn vendor_name(vendor: u16) -> Option<&'static str> {
    Some(match vendor {
        0x8086 => "Intel",
        0x10ec => "Realtek",
        0x1234 => "QEMU",
        0x1af4 => "Red Hat (virtio)",
        0x1b36 => "Red Hat (QEMU)",
        0x1022 => "AMD",
        0x10de => "NVIDIA",
        0x15ad => "VMware",
        0x80ee => "VirtualBox",
        _ => return None,
    })
}

/// The device's name, or `None` for a device this table does not know.
pub fn device_name(vendor: u16, device: u16) -> Option<&'static str> {
    Some(match (vendor, device) {
        (0x8086, 0x1237) => "440FX - 82441FX PMC [Natoma]",
        (0x8086, 0x7000) => "82371SB PIIX3 ISA [Natoma/Triton II]",
        (0x8086, 0x7010) => "82371SB PIIX3 IDE [Natoma/Triton II]",
        (0x8086, 0x7020) => "82371SB PIIX3 USB [Natoma/Triton II]",
        (0x8086, 0x7113) => "82371AB/EB/MB PIIX4 ACPI",
        (0x8086, 0x29c0) => "82G33/G31/P35/P31 Express DRAM Controller",
        (0x8086, 0x2918) => "82801IB (ICH9) LPC Interface Controller",
        (0x8086, 0x2922) => "82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode]",
        (0x8086, 0x2930) => "82801I (ICH9 Family) SMBus Controller",
        (0x8086, 0x100e) => "82540EM Gigabit Ethernet Controller",
        (0x8086, 0x10d3) => "82574L Gigabit Network Connection",
        (0x10ec, 0x8139) => "RTL-8100/8101L/8139 PCI Fast Ethernet Adapter",
        (0x1234, 0x1111) => "Bochs/QEMU standard VGA",
        (0x1af4, 0x1000) => "Virtio network device",
        (0x1af4, 0x1001) => "Virtio block device",
        (0x1b36, 0x000d) => "QEMU XHCI Host Controller",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_devices_of_qemu_pc_and_q35() {
        assert_eq!(class_name(0x02, 0x00), "Ethernet controller");
        assert_eq!(class_name(0x06, 0x00), "Host bridge");
        assert_eq!(class_name(0x06, 0x80), "Bridge");
        assert_eq!(class_name(0x0c, 0x05), "SMBus");
        assert_eq!(vendor_name(0x10ec), Some("Realtek"));
        assert!(device_name(0x10ec, 0x8139).unwrap().contains("8139"));
        assert!(device_name(0x8086, 0x29c0).is_some());
    }

    #[test]
    fn unknown_numbers_fall_back() {
        assert_eq!(class_name(0x03, 0x42), "Display controller");
        assert_eq!(class_name(0xfe, 0x00), "Unknown class");
        assert_eq!(vendor_name(0xabcd), None);
        assert_eq!(device_name(0x10ec, 0x0001), None);
    }
}
