//! The kernel command line: the words after the kernel's path on GRUB's `multiboot2` line
//! (grub/grub.cfg). Parsing is pure, so it is unit-tested on the host.
//!
//! | word | meaning |
//! |---|---|
//! | `selftest` | run the in-kernel tests, report on serial, exit QEMU with pass/fail |
//! | `crashtest=NAME` | provoke the named fatal fault, to test its report (tests/ uses it) |
//! | `ip=A.B.C.D/N` | static IPv4 address and prefix length instead of DHCP |
//! | `gw=A.B.C.D` | default gateway for the static address |
//! | `nic=NAME` | which network card to use: a driver (`rtl8139`) or a PCI slot (`00:03.0`) |
//! | `trace=request` | log each step of the first HTTP request, layer by layer (src/trace.rs) |

/// An IPv4 address with its prefix length, such as 10.0.2.15/24.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    pub address: [u8; 4],
    pub prefix_len: u8,
}

/// What the command line asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelArgs<'a> {
    pub self_test: bool,
    pub crash_test: Option<&'a str>,
    pub ip: Option<Ipv4Cidr>,
    pub gateway: Option<[u8; 4]>,
    /// The value of `nic=`, checked by the NIC layer (src/drivers/nic/supported.rs), which
    /// knows the drivers' names.
    pub nic: Option<&'a str>,
    /// `trace=request`: follow the first HTTP request through every layer.
    pub trace_request: bool,
}

/// A word the kernel did not understand, reported in the boot log and otherwise ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownWord<'a>(pub &'a str);

impl<'a> KernelArgs<'a> {
    /// Parses `text`; `on_unknown` is called for each word that means nothing here.
    pub fn parse(text: &'a str, mut on_unknown: impl FnMut(UnknownWord<'a>)) -> Self {
        let mut args = KernelArgs::default();
        for word in text.split_ascii_whitespace() {
            match word.split_once('=') {
                None if word == "selftest" => args.self_test = true,
                Some(("crashtest", name)) if !name.is_empty() => args.crash_test = Some(name),
                Some(("ip", value)) if parse_cidr(value).is_some() => args.ip = parse_cidr(value),
                Some(("gw", value)) if parse_ipv4(value).is_some() => {
                    args.gateway = parse_ipv4(value)
                }
                Some(("nic", value)) if !value.is_empty() => args.nic = Some(value),
                Some(("trace", "request")) => args.trace_request = true,
                _ => on_unknown(UnknownWord(word)),
            }
        }
        args
    }
}

/// Parses dotted-quad notation: four decimal numbers 0..=255, no leading '+', nothing else.
pub fn parse_ipv4(text: &str) -> Option<[u8; 4]> {
    let mut address = [0u8; 4];
    let mut parts = text.split('.');
    for byte in address.iter_mut() {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *byte = part.parse().ok()?;
    }
    parts.next().is_none().then_some(address)
}

/// Parses `A.B.C.D/N` with N in 0..=32, written like the address's numbers (decimal digits
/// only: `str::parse` alone would also take "+24").
pub fn parse_cidr(text: &str) -> Option<Ipv4Cidr> {
    let (address, prefix) = text.split_once('/')?;
    if prefix.is_empty() || prefix.len() > 2 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix_len: u8 = prefix.parse().ok().filter(|&n| n <= 32)?;
    Some(Ipv4Cidr {
        address: parse_ipv4(address)?,
        prefix_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (KernelArgs<'_>, Vec<&str>) {
        let mut unknown = Vec::new();
        let args = KernelArgs::parse(text, |UnknownWord(word)| unknown.push(word));
        (args, unknown)
    }

    #[test]
    fn empty_line_means_defaults() {
        assert_eq!(parse(""), (KernelArgs::default(), vec![]));
        assert_eq!(parse("   \t "), (KernelArgs::default(), vec![]));
    }

    #[test]
    fn selftest_and_static_address() {
        let (args, unknown) = parse("selftest ip=10.0.2.15/24 gw=10.0.2.2");
        assert!(args.self_test);
        assert_eq!(
            args.ip,
            Some(Ipv4Cidr {
                address: [10, 0, 2, 15],
                prefix_len: 24
            })
        );
        assert_eq!(args.gateway, Some([10, 0, 2, 2]));
        assert!(unknown.is_empty());
    }

    #[test]
    fn crash_test_names_a_scenario() {
        assert_eq!(
            parse("crashtest=stack-overflow").0.crash_test,
            Some("stack-overflow")
        );
        assert_eq!(parse("crashtest=").1, vec!["crashtest="]);
    }

    #[test]
    fn nic_names_a_card_for_the_nic_layer_to_check() {
        assert_eq!(parse("nic=00:03.0").0.nic, Some("00:03.0"));
        assert_eq!(parse("nic=rtl8139").0.nic, Some("rtl8139"));
        assert_eq!(parse("nic=").1, vec!["nic="]);
    }

    #[test]
    fn trace_request_is_the_one_trace() {
        assert!(parse("trace=request").0.trace_request);
        assert_eq!(parse("trace=everything").1, vec!["trace=everything"]);
        assert!(!parse("").0.trace_request);
    }

    #[test]
    fn bad_words_are_reported_not_trusted() {
        let (args, unknown) =
            parse("ip=10.0.2/24 ip=10.0.2.256/24 ip=1.2.3.4/33 gw=1.2.3.4.5 gw=+1.2.3.4 quiet");
        assert_eq!(args, KernelArgs::default());
        assert_eq!(unknown.len(), 6);
    }

    #[test]
    fn ipv4_edges() {
        assert_eq!(parse_ipv4("0.0.0.0"), Some([0, 0, 0, 0]));
        assert_eq!(parse_ipv4("255.255.255.255"), Some([255; 4]));
        assert_eq!(parse_ipv4("1..2.3"), None);
        assert_eq!(parse_ipv4("0001.2.3.4"), None);
        assert_eq!(parse_cidr("1.2.3.4/0").map(|c| c.prefix_len), Some(0));
        assert_eq!(parse_cidr("1.2.3.4"), None);
        assert_eq!(parse_cidr("1.2.3.4/+24"), None);
        assert_eq!(parse_cidr("1.2.3.4/024"), None);
        assert_eq!(parse_cidr("1.2.3.4/"), None);
    }
}
