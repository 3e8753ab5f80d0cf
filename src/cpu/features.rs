//! What this CPU offers, read once from CPUID (Intel SDM vol. 2A, "CPUID"; AMD APM vol. 3,
//! appendix E): the optional features the kernel uses when they are there and does without
//! when they are not.
//!
//! | feature | CPUID bit | used for | without it |
//! |---|---|---|---|
//! | NX (execute-disable) | 80000001h EDX 20 | W^X: data pages not executable | page entries carry no NX bit; a warning |
//! | PAT | 1 EDX 16 | write-combining framebuffer (src/cpu/pat.rs) | the framebuffer is mapped uncached |
//! | RDRAND | 1 ECX 30 | random seeds (src/cpu/random.rs) | time-stamp counter jitter |
//! | RDSEED | 7.0 EBX 18 | the same, closer to the entropy source | RDRAND |
//!
//! Long mode (80000001h EDX 29) is not optional: the trampoline (arch/x86_64/boot32.S) checks
//! it before anything else and stops with a message if it is missing. It checks NX too,
//! before it sets EFER.NXE, since setting NXE on a CPU without NX raises #GP.

/// The features, decoded from the CPUID registers that hold them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuFeatures {
    pub no_execute: bool,
    pub pat: bool,
    pub rdrand: bool,
    pub rdseed: bool,
}

/// The raw CPUID registers the features come from; leaves the CPU does not have read as 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuidRegisters {
    /// Leaf 1, ECX and EDX.
    pub leaf1_ecx: u32,
    pub leaf1_edx: u32,
    /// Leaf 7 sub-leaf 0, EBX.
    pub leaf7_ebx: u32,
    /// Leaf 80000001h, EDX.
    pub extended1_edx: u32,
}

const LEAF1_ECX_RDRAND: u32 = 1 << 30;
const LEAF1_EDX_PAT: u32 = 1 << 16;
const LEAF7_EBX_RDSEED: u32 = 1 << 18;
const EXTENDED1_EDX_NX: u32 = 1 << 20;

impl CpuFeatures {
    pub fn decode(registers: &CpuidRegisters) -> CpuFeatures {
        CpuFeatures {
            no_execute: registers.extended1_edx & EXTENDED1_EDX_NX != 0,
            pat: registers.leaf1_edx & LEAF1_EDX_PAT != 0,
            rdrand: registers.leaf1_ecx & LEAF1_ECX_RDRAND != 0,
            rdseed: registers.leaf7_ebx & LEAF7_EBX_RDSEED != 0,
        }
    }
}

impl core::fmt::Display for CpuFeatures {
    /// The features present, by name, as the boot log shows them.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names = [
            (self.no_execute, "NX"),
            (self.pat, "PAT"),
            (self.rdrand, "RDRAND"),
            (self.rdseed, "RDSEED"),
        ];
        let mut first = true;
        for (_, name) in names.iter().filter(|(present, _)| *present) {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(name)?;
            first = false;
        }
        if first {
            f.write_str("none of NX, PAT, RDRAND, RDSEED")?;
        }
        Ok(())
    }
}

#[cfg(target_os = "none")]
pub use kernel_side::{features, init};

#[cfg(target_os = "none")]
mod kernel_side {
    use super::{CpuFeatures, CpuidRegisters};
    use core::arch::x86_64::{__cpuid, __cpuid_count};
    use spin::Once;

    static FEATURES: Once<CpuFeatures> = Once::new();

    /// Reads CPUID (each leaf only if the CPU reports it: SDM vol. 2A, CPUID, leaf 0 and
    /// 80000000h give the highest leaf) and decodes it.
    fn read() -> CpuFeatures {
        let max_leaf = __cpuid(0).eax;
        let max_extended = __cpuid(0x8000_0000).eax;
        let leaf1 = __cpuid(1);
        let registers = CpuidRegisters {
            leaf1_ecx: leaf1.ecx,
            leaf1_edx: leaf1.edx,
            leaf7_ebx: if max_leaf >= 7 {
                __cpuid_count(7, 0).ebx
            } else {
                0
            },
            extended1_edx: if max_extended >= 0x8000_0001 {
                __cpuid(0x8000_0001).edx
            } else {
                0
            },
        };
        CpuFeatures::decode(&registers)
    }

    /// Reads the features and logs them; warns when no-execute protection is off.
    pub fn init() {
        let features = FEATURES.call_once(read);
        log::info!("cpu: {features}");
        if !features.no_execute {
            log::warn!(
                "cpu: no NX (execute-disable) bit: no-execute protection is off, data pages \
                 stay executable (W^X is write protection only)"
            );
        }
    }

    /// The features read by [`init`] (read now if it has not run).
    pub fn features() -> &'static CpuFeatures {
        FEATURES.call_once(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_bit_from_its_leaf() {
        let qemu64 = CpuidRegisters {
            leaf1_ecx: 0x8080_2001,
            leaf1_edx: 0x0781_abfd,
            leaf7_ebx: 0,
            extended1_edx: 0x2010_0800,
        };
        let features = CpuFeatures::decode(&qemu64);
        assert!(features.no_execute && features.pat);
        assert!(!features.rdrand && !features.rdseed);
        assert_eq!(features.to_string(), "NX PAT");
        let without_nx = CpuidRegisters {
            extended1_edx: qemu64.extended1_edx & !(1 << 20),
            ..qemu64
        };
        assert!(!CpuFeatures::decode(&without_nx).no_execute);
    }

    #[test]
    fn random_number_instructions() {
        let registers = CpuidRegisters {
            leaf1_ecx: 1 << 30,
            leaf7_ebx: 1 << 18,
            ..CpuidRegisters::default()
        };
        let features = CpuFeatures::decode(&registers);
        assert!(features.rdrand && features.rdseed && !features.no_execute);
        assert_eq!(features.to_string(), "RDRAND RDSEED");
        assert_eq!(
            CpuFeatures::default().to_string(),
            "none of NX, PAT, RDRAND, RDSEED"
        );
    }
}
