//! Which network cards the kernel has a driver for, and which of the cards on the bus to use.
//!
//! A PC may have several network cards, of which the kernel drives one. The rule:
//! - without `nic=` on the command line, the first supported card in bus order;
//! - `nic=rtl8139` or `nic=e1000` (a driver's name): the first card that driver supports;
//! - `nic=00:03.0` (bus:device.function, as the boot log's PCI lines print it): that card.
//!
//! A card asked for but not found is an error the boot log reports, not a reason to take
//! another card: the user said which one they wanted. This file is pure logic over the PCI
//! scan's list, so the host tests try every rule.

use crate::pci::{PciAddress, PciFunctionInfo};
use core::fmt;

/// The drivers in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// src/drivers/rtl8139/: Realtek's RTL8139, `make run`'s card.
    Rtl8139,
    /// src/drivers/e1000/: Intel's 8254x and 82574L, QEMU's, VirtualBox's and Bochs' default.
    E1000,
}

impl Driver {
    /// Every driver, by the name `nic=` uses.
    pub const ALL: &'static [Driver] = &[Driver::Rtl8139, Driver::E1000];

    /// The driver's name: its folder under src/drivers/, and the word for `nic=`.
    pub fn name(self) -> &'static str {
        match self {
            Driver::Rtl8139 => "rtl8139",
            Driver::E1000 => "e1000",
        }
    }
}

/// A card some driver supports: its PCI IDs, the model name the logs and the dashboard show,
/// and the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportedCard {
    pub vendor_id: u16,
    pub device_id: u16,
    pub model: &'static str,
    pub driver: Driver,
}

/// Every card with a driver, by PCI vendor and device ID.
pub const SUPPORTED_CARDS: &[SupportedCard] = &[
    SupportedCard {
        vendor_id: 0x10ec,
        device_id: 0x8139,
        model: "RTL8139",
        driver: Driver::Rtl8139,
    },
    // QEMU's `-M pc` default (`-device e1000`), VirtualBox's "PRO/1000 MT Desktop", Bochs' e1000.
    SupportedCard {
        vendor_id: 0x8086,
        device_id: 0x100e,
        model: "82540EM",
        driver: Driver::E1000,
    },
    // VMware's e1000, QEMU's `-device e1000-82545em`.
    SupportedCard {
        vendor_id: 0x8086,
        device_id: 0x100f,
        model: "82545EM",
        driver: Driver::E1000,
    },
    // QEMU's `-M q35` default (`-device e1000e`).
    SupportedCard {
        vendor_id: 0x8086,
        device_id: 0x10d3,
        model: "82574L",
        driver: Driver::E1000,
    },
];

/// The entry for a PCI function, if some driver supports it.
pub fn supported_card(vendor_id: u16, device_id: u16) -> Option<&'static SupportedCard> {
    SUPPORTED_CARDS
        .iter()
        .find(|card| card.vendor_id == vendor_id && card.device_id == device_id)
}

/// What `nic=` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NicWanted {
    /// The first card this driver supports.
    Driver(Driver),
    /// The card at this bus:device.function.
    Slot(PciAddress),
}

impl NicWanted {
    /// Parses the value of `nic=`: a driver's name, or `BB:DD.F` in hexadecimal (bus 00-ff,
    /// device 00-1f, function 0-7). `None` for anything else.
    pub fn parse(text: &str) -> Option<NicWanted> {
        if let Some(driver) = Driver::ALL.iter().find(|d| d.name() == text) {
            return Some(NicWanted::Driver(*driver));
        }
        let (bus, rest) = text.split_once(':')?;
        let (device, function) = rest.split_once('.')?;
        let hex = |part: &str, digits: usize| {
            (part.len() == digits && part.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u8::from_str_radix(part, 16).ok())
                .flatten()
        };
        let (bus, device, function) = (hex(bus, 2)?, hex(device, 2)?, hex(function, 1)?);
        (device < 32 && function < 8)
            .then(|| NicWanted::Slot(PciAddress::new(0, bus, device, function)))
    }
}

impl fmt::Display for NicWanted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NicWanted::Driver(driver) => f.write_str(driver.name()),
            NicWanted::Slot(address) => write!(
                f,
                "{:02x}:{:02x}.{}",
                address.bus(),
                address.device(),
                address.function()
            ),
        }
    }
}

/// The card to use, and why (the boot log says it).
#[derive(Debug, Clone, Copy)]
pub struct Chosen<'a> {
    pub function: &'a PciFunctionInfo,
    pub card: &'static SupportedCard,
    pub reason: Reason,
}

/// Why a card was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No `nic=`: the first supported card in bus order.
    FirstSupported,
    /// `nic=` named this card's driver or slot.
    Asked(NicWanted),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::FirstSupported => f.write_str("the first supported card on the bus"),
            Reason::Asked(wanted) => write!(f, "chosen by nic={wanted}"),
        }
    }
}

/// Why no card is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCard {
    /// Nothing on the bus has a driver here.
    NoneSupported,
    /// `nic=` asked for a driver or slot that no supported card matches.
    NotFound(NicWanted),
}

impl fmt::Display for NoCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoCard::NoneSupported => f.write_str("no supported network card on the PCI bus"),
            NoCard::NotFound(wanted) => {
                write!(f, "nic={wanted}: no supported network card matches")
            }
        }
    }
}

/// Applies the rule of the module comment to the functions of the PCI scan, in bus order.
pub fn choose(
    functions: &[PciFunctionInfo],
    wanted: Option<NicWanted>,
) -> Result<Chosen<'_>, NoCard> {
    let mut supported = functions.iter().filter_map(|function| {
        supported_card(function.vendor_id, function.device_id).map(|card| (function, card))
    });
    let found = match wanted {
        None => supported.next(),
        Some(NicWanted::Driver(driver)) => supported.find(|(_, card)| card.driver == driver),
        Some(NicWanted::Slot(address)) => {
            supported.find(|(function, _)| function.address == address)
        }
    };
    let (function, card) = found.ok_or(match wanted {
        None => NoCard::NoneSupported,
        Some(wanted) => NoCard::NotFound(wanted),
    })?;
    Ok(Chosen {
        function,
        card,
        reason: wanted.map_or(Reason::FirstSupported, Reason::Asked),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pci_types::HeaderType;

    fn function(device: u8, vendor_id: u16, device_id: u16) -> PciFunctionInfo {
        PciFunctionInfo {
            address: PciAddress::new(0, 0, device, 0),
            vendor_id,
            device_id,
            revision: 0,
            class: 0x02,
            subclass: 0,
            interface: 0,
            header_type: HeaderType::Endpoint,
            interrupt_pin: 1,
            interrupt_line: 11,
            bars: [None; 6],
        }
    }

    /// A host bridge, an unsupported card at 00:02.0, RTL8139s at 00:03.0 and 00:04.0.
    fn bus() -> Vec<PciFunctionInfo> {
        vec![
            function(0, 0x8086, 0x1237),
            function(2, 0x1af4, 0x1000),
            function(3, 0x10ec, 0x8139),
            function(4, 0x10ec, 0x8139),
        ]
    }

    /// A host bridge, an 82540EM at 00:03.0 and an RTL8139 at 00:04.0.
    fn mixed_bus() -> Vec<PciFunctionInfo> {
        vec![
            function(0, 0x8086, 0x1237),
            function(3, 0x8086, 0x100e),
            function(4, 0x10ec, 0x8139),
        ]
    }

    #[test]
    fn parses_driver_names_and_slots() {
        assert_eq!(
            NicWanted::parse("rtl8139"),
            Some(NicWanted::Driver(Driver::Rtl8139))
        );
        assert_eq!(
            NicWanted::parse("00:1f.7"),
            Some(NicWanted::Slot(PciAddress::new(0, 0, 0x1f, 7)))
        );
        for bad in [
            "", "RTL8139", "0:3.0", "00:03", "00:20.0", "00:03.8", "zz:03.0", "00:03.0x",
        ] {
            assert_eq!(NicWanted::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn slots_print_as_they_parse() {
        for text in ["00:03.0", "1a:1f.7", "rtl8139", "e1000"] {
            assert_eq!(NicWanted::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn without_a_wish_the_first_supported_card_in_bus_order() {
        let bus = bus();
        let chosen = choose(&bus, None).unwrap();
        assert_eq!(chosen.function.address.device(), 3);
        assert_eq!(chosen.card.driver, Driver::Rtl8139);
        assert_eq!(chosen.reason, Reason::FirstSupported);
    }

    #[test]
    fn a_slot_picks_that_card() {
        let bus = bus();
        let wanted = NicWanted::parse("00:04.0");
        let chosen = choose(&bus, wanted).unwrap();
        assert_eq!(chosen.function.address.device(), 4);
        assert_eq!(
            chosen.reason.to_string(),
            "chosen by nic=00:04.0",
            "the log says why"
        );
    }

    #[test]
    fn what_was_asked_for_and_is_missing_is_an_error_not_a_substitute() {
        let bus = bus();
        // 00:02.0 is on the bus, but no driver supports it.
        let wanted = NicWanted::parse("00:02.0").unwrap();
        assert_eq!(
            choose(&bus, Some(wanted)).err(),
            Some(NoCard::NotFound(wanted))
        );
        let wanted = NicWanted::parse("00:09.0").unwrap();
        assert_eq!(
            choose(&bus, Some(wanted)).err(),
            Some(NoCard::NotFound(wanted))
        );
        assert_eq!(choose(&bus[..2], None).err(), Some(NoCard::NoneSupported));
        let wanted = NicWanted::Driver(Driver::Rtl8139);
        assert_eq!(
            choose(&bus[..2], Some(wanted)).err(),
            Some(NoCard::NotFound(wanted))
        );
    }

    #[test]
    fn a_driver_name_picks_its_first_card_whatever_comes_first() {
        let bus = mixed_bus();
        let first = choose(&bus, None).unwrap();
        assert_eq!(
            (first.function.address.device(), first.card.model),
            (3, "82540EM")
        );
        let rtl = choose(&bus, NicWanted::parse("rtl8139")).unwrap();
        assert_eq!(
            (rtl.function.address.device(), rtl.card.model),
            (4, "RTL8139")
        );
        let intel = choose(&bus, NicWanted::parse("e1000")).unwrap();
        assert_eq!(intel.card.driver, Driver::E1000);
        assert_eq!(intel.reason.to_string(), "chosen by nic=e1000");
    }

    #[test]
    fn the_e1000_family_by_model() {
        for (device_id, model) in [(0x100e, "82540EM"), (0x100f, "82545EM"), (0x10d3, "82574L")] {
            let card = supported_card(0x8086, device_id).unwrap();
            assert_eq!((card.model, card.driver), (model, Driver::E1000));
        }
        assert_eq!(
            supported_card(0x8086, 0x1237),
            None,
            "a host bridge is no NIC"
        );
    }

    #[test]
    fn every_driver_supports_some_card() {
        for driver in Driver::ALL {
            assert!(SUPPORTED_CARDS.iter().any(|card| card.driver == *driver));
        }
    }
}
