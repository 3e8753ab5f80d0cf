//! A 64-bit random seed, for the TCP stack's initial sequence numbers (src/net/mod.rs).
//!
//! Best source first, as far as the CPU has it (src/cpu/features.rs):
//! 1. RDSEED: output of the CPU's entropy conditioner (Intel SDM vol. 1, 7.3.17.2). It may
//!    fail (CF = 0) when the conditioner is drained: retried a bounded number of times.
//! 2. RDRAND: a DRBG the hardware reseeds from that source. It can fail too, rarely; Intel's
//!    DRNG guide recommends giving up after 10 retries.
//! 3. Time-stamp counter jitter: the TSC read around port I/O (whose latency varies with the
//!    bus, caches and, under QEMU, the host), many times, folded through a mixing function.
//!    Weaker than the hardware sources, but unlike the TSC at one fixed point of the boot
//!    it is not a count of instructions that an attacker could replay.

/// Where a seed came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedSource {
    Rdseed,
    Rdrand,
    TscJitter,
}

/// RDRAND's retry bound (Intel Digital Random Number Generator software guide, 5.2.1).
pub const RDRAND_RETRIES: usize = 10;
/// RDSEED fails more often under load; the guide suggests retrying with a pause. Bounded
/// anyway: if it keeps failing, RDRAND is next.
pub const RDSEED_RETRIES: usize = 100;
/// Timing samples folded into a jitter seed.
pub const JITTER_SAMPLES: usize = 256;

/// Calls `attempt` up to `tries` times; the first value it returns wins.
pub fn retry(tries: usize, mut attempt: impl FnMut() -> Option<u64>) -> Option<u64> {
    (0..tries).find_map(|_| attempt())
}

/// SplitMix64's finaliser (Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators", 2014): every input bit affects every output bit.
pub fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Folds timing samples into one seed: each sample moves the state through [`mix64`], so
/// the few unpredictable low bits of every sample spread over all 64 bits.
pub fn fold_samples(samples: impl IntoIterator<Item = u64>) -> u64 {
    samples
        .into_iter()
        .fold(0x6a09_e667_f3bc_c908, |state, sample| {
            mix64(state ^ sample).rotate_left(17)
        })
}

#[cfg(target_os = "none")]
pub use kernel_side::seed;

#[cfg(target_os = "none")]
mod kernel_side {
    use super::{JITTER_SAMPLES, RDRAND_RETRIES, RDSEED_RETRIES, SeedSource, fold_samples, retry};
    use crate::cpu::features::features;
    use core::arch::x86_64::{_rdrand64_step, _rdseed64_step, _rdtsc};
    use x86_64::instructions::port::Port;

    /// Port 0x80, the POST diagnostic port: reading it does nothing but take bus time.
    const POST_PORT: u16 = 0x80;

    fn rdseed() -> Option<u64> {
        let mut value = 0;
        // SAFETY: only called when CPUID reports RDSEED; the instruction has no other effect.
        let ok = unsafe { _rdseed64_step(&mut value) };
        if ok == 1 {
            return Some(value);
        }
        core::hint::spin_loop();
        None
    }

    fn rdrand() -> Option<u64> {
        let mut value = 0;
        // SAFETY: only called when CPUID reports RDRAND; the instruction has no other effect.
        let ok = unsafe { _rdrand64_step(&mut value) };
        (ok == 1).then_some(value)
    }

    fn tsc_jitter() -> u64 {
        let mut port = Port::<u8>::new(POST_PORT);
        fold_samples((0..JITTER_SAMPLES).map(|_| {
            // SAFETY: RDTSC only reads a counter; reading port 0x80 has no effect.
            unsafe {
                let before = _rdtsc();
                port.read();
                _rdtsc().wrapping_sub(before) ^ before.rotate_left(32)
            }
        }))
    }

    /// A seed from the best source this CPU has, and which one it was (also logged).
    pub fn seed() -> (u64, SeedSource) {
        let (value, source) = best_seed();
        log::info!("cpu: random seed from {source:?}");
        (value, source)
    }

    fn best_seed() -> (u64, SeedSource) {
        let cpu = features();
        if cpu.rdseed
            && let Some(value) = retry(RDSEED_RETRIES, rdseed)
        {
            return (value, SeedSource::Rdseed);
        }
        if cpu.rdrand
            && let Some(value) = retry(RDRAND_RETRIES, rdrand)
        {
            return (value, SeedSource::Rdrand);
        }
        (tsc_jitter(), SeedSource::TscJitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_stops_at_the_first_success_and_gives_up_at_the_bound() {
        let mut calls = 0;
        let value = retry(RDRAND_RETRIES, || {
            calls += 1;
            (calls == 3).then_some(42)
        });
        assert_eq!((value, calls), (Some(42), 3));
        let mut calls = 0;
        let value = retry(RDRAND_RETRIES, || {
            calls += 1;
            None
        });
        assert_eq!((value, calls), (None, RDRAND_RETRIES));
    }

    #[test]
    fn one_flipped_bit_changes_about_half_the_output() {
        for bit in 0..64 {
            let changed = (mix64(0x1234_5678) ^ mix64(0x1234_5678 ^ (1 << bit))).count_ones();
            assert!(
                (16..=48).contains(&changed),
                "bit {bit}: {changed} bits changed"
            );
        }
    }

    #[test]
    fn folding_depends_on_every_sample_and_its_order() {
        let samples = [100u64, 37, 41, 98, 12];
        let seed = fold_samples(samples);
        assert_ne!(seed, fold_samples([100u64, 37, 41, 98, 13]));
        assert_ne!(seed, fold_samples([37u64, 100, 41, 98, 12]));
        assert_eq!(seed, fold_samples(samples));
    }
}
