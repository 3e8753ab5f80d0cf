//! Configuration mechanism #1 (PCI Local Bus Specification 3.0, section 3.2.2.3.2): the CPU
//! writes the address of a configuration dword to CONFIG_ADDRESS (port 0xCF8), then reads
//! or writes the dword through CONFIG_DATA (port 0xCFC).
//!
//! ```text
//!  31      30..24    23..16   15..11   10..8      7..2      1..0
//! +------+----------+--------+--------+---------+----------+----+
//! |enable| reserved |  bus   | device |function | register | 00 |
//! +------+----------+--------+--------+---------+----------+----+
//! ```

use pci_types::PciAddress;

/// CONFIG_ADDRESS: which bus/device/function/register the next CONFIG_DATA access means.
pub const CONFIG_ADDRESS_PORT: u16 = 0xcf8;
/// CONFIG_DATA: the selected configuration dword.
pub const CONFIG_DATA_PORT: u16 = 0xcfc;
/// Bit 31 of CONFIG_ADDRESS: turns the access into a configuration cycle.
const ENABLE: u32 = 1 << 31;

/// The CONFIG_ADDRESS value for the dword holding byte `offset` of `address`'s header.
/// Mechanism #1 reaches the first 256 bytes only, and always whole dwords.
pub fn config_address(address: PciAddress, offset: u16) -> u32 {
    ENABLE
        | u32::from(address.bus()) << 16
        | u32::from(address.device()) << 11
        | u32::from(address.function()) << 8
        | u32::from(offset & 0xfc)
}

#[cfg(target_os = "none")]
pub use kernel_side::ConfigMechanism1;

#[cfg(target_os = "none")]
mod kernel_side {
    use super::{CONFIG_ADDRESS_PORT, CONFIG_DATA_PORT, config_address};
    use pci_types::{ConfigRegionAccess, PciAddress};
    use spin::Mutex;
    use x86_64::instructions::interrupts::without_interrupts;
    use x86_64::instructions::port::Port;

    /// The two ports form one operation (select, then transfer), so they sit behind one lock,
    /// taken with interrupts off so that an interrupt handler can never find it held.
    pub struct ConfigMechanism1 {
        ports: Mutex<(Port<u32>, Port<u32>)>,
    }

    impl ConfigMechanism1 {
        pub const fn new() -> Self {
            ConfigMechanism1 {
                ports: Mutex::new((Port::new(CONFIG_ADDRESS_PORT), Port::new(CONFIG_DATA_PORT))),
            }
        }
    }

    impl Default for ConfigMechanism1 {
        fn default() -> Self {
            Self::new()
        }
    }

    impl ConfigRegionAccess for ConfigMechanism1 {
        unsafe fn read(&self, address: PciAddress, offset: u16) -> u32 {
            without_interrupts(|| {
                let mut ports = self.ports.lock();
                // SAFETY: 0xCF8/0xCFC are the PC's configuration ports; selecting a register
                // and reading it has no side effect on the registers the kernel reads.
                unsafe {
                    ports.0.write(config_address(address, offset));
                    ports.1.read()
                }
            })
        }

        unsafe fn write(&self, address: PciAddress, offset: u16, value: u32) {
            without_interrupts(|| {
                let mut ports = self.ports.lock();
                // SAFETY: the caller vouches for the register written (the trait's contract).
                unsafe {
                    ports.0.write(config_address(address, offset));
                    ports.1.write(value);
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_bus_device_function_register() {
        assert_eq!(config_address(PciAddress::new(0, 0, 0, 0), 0), 0x8000_0000);
        // The RTL8139 on QEMU pc, 00:03.0, interrupt line register at 0x3C.
        assert_eq!(
            config_address(PciAddress::new(0, 0, 3, 0), 0x3c),
            0x8000_183c
        );
        assert_eq!(
            config_address(PciAddress::new(0, 255, 31, 7), 0xfc),
            0x80ff_fffc
        );
    }

    #[test]
    fn drops_the_byte_within_the_dword() {
        let a = PciAddress::new(0, 1, 2, 3);
        assert_eq!(config_address(a, 0x3d), config_address(a, 0x3c));
    }
}
