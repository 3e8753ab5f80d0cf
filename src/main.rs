//! The kernel's entry point. Reading `kmain` top to bottom is reading the boot sequence:
//! one line per subsystem, each one logged as it comes up.

#![no_std]
#![no_main]

extern crate alloc;

mod probe;

use kernel::{
    boot, console, cpu, drivers, fatal, http, interrupts, ktest, memory, net, pci, sched, time,
    trace,
};

/// How long the boot waits for DHCP before declaring itself ready anyway.
const ADDRESS_WAIT_MS: u64 = 10_000;

/// Called by `start64` (arch/x86_64/boot64.S) in 64-bit mode, on the boot stack, with
/// interrupts off and the physical address of the multiboot2 boot information.
#[unsafe(no_mangle)]
extern "C" fn kmain(multiboot2_info: u32) -> ! {
    console::init(boot::screen(multiboot2_info));
    log::info!("micro-kernel {} booting", env!("CARGO_PKG_VERSION"));
    let boot_info = boot::init(multiboot2_info);
    let args = boot_info.cmdline;
    fatal::exit_qemu_on_fatal(args.self_test || args.crash_test.is_some());

    cpu::features::init();
    cpu::gdt::init();
    cpu::legacy_pc::check(); // the 8259 PICs and 8254 PIT: a UEFI-only PC may lack them
    interrupts::init(); // from here on a fault is reported, not a silent reset
    memory::init(boot_info);
    time::init();
    sched::init();
    console::start_writer_thread();
    pci::init();
    drivers::nic::init(args.nic);
    log::info!("boot complete at {} ms", time::uptime_ms());

    if let Some(name) = args.crash_test {
        panic!("crash test did not crash: {}", ktest::run_crash_test(name));
    }
    if args.self_test {
        ktest::run_all_and_exit();
    }
    if net::init(net::AddressConfig::from_args(&args)) {
        if args.trace_request {
            trace::arm(http::HTTP_PORT); // docs/13-life-of-a-request.md
        }
        serve_http();
    }
    log::info!("READY");
    // kmain has nothing left to do: it sleeps, the other threads run, and the idle thread
    // halts the CPU when none of them is ready.
    loop {
        sched::sleep_ms(1000);
    }
}

/// Starts the web server and logs where to find it once the address is known.
fn serve_http() {
    if let Err(error) = http::start(&probe::LiveKernel) {
        log::error!("http: cannot listen on port {}: {error:?}", http::HTTP_PORT);
        return;
    }
    match net::wait_for_address(ADDRESS_WAIT_MS) {
        Some(address) => log::info!(
            "http: open http://{}/ (from the host: the forwarded port `make run` prints)",
            address.address()
        ),
        None => log::warn!("net: no address after {ADDRESS_WAIT_MS} ms, still asking DHCP"),
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    fatal::panic(info)
}
