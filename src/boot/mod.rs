//! What the boot loader tells the kernel: the multiboot2 boot information (multiboot2 spec,
//! section 3.6). GRUB leaves it in RAM and passes its physical address in EBX; the
//! trampoline hands it to kmain. We read it once, keep what we need, and log a summary.

pub mod cmdline;
pub mod memory_map;

pub use cmdline::KernelArgs;
pub use memory_map::{MemoryMap, MemoryRegion, RegionKind};

use core::ops::Range;

/// The facts the rest of the kernel needs from the boot loader.
#[derive(Debug, Clone)]
pub struct BootInfo {
    pub loader_name: &'static str,
    pub cmdline_text: &'static str,
    pub cmdline: KernelArgs<'static>,
    pub memory_map: MemoryMap,
    /// Physical range of the multiboot2 information itself.
    pub info_range: Range<u64>,
    /// Boot modules GRUB loaded (we load none, but the memory manager must not hand out a
    /// module's frames if a user adds one in grub.cfg): see [`BootInfo::for_each_module`].
    pub module_count: usize,
}

impl BootInfo {
    /// Calls `each` with the physical range of every boot module. They are read from the
    /// boot information (kept reserved for the kernel's life) each time, so there may be any
    /// number of them without a table sized in advance.
    #[cfg(target_os = "none")]
    pub fn for_each_module(&self, mut each: impl FnMut(Range<u64>)) {
        if let Ok(mb) = load(self.info_range.start as u32) {
            for module in mb.module_tags() {
                each(u64::from(module.start_address())..u64::from(module.end_address()));
            }
        }
    }
}

#[cfg(target_os = "none")]
static BOOT_INFO: spin::Once<BootInfo> = spin::Once::new();

/// The multiboot2 information at physical address `address`.
#[cfg(target_os = "none")]
fn load(address: u32) -> Result<multiboot2::BootInformation<'static>, multiboot2::LoadError> {
    use multiboot2::{BootInformation, BootInformationHeader};
    // SAFETY: GRUB passed this address in EBX together with the multiboot2 magic (checked in
    // boot32.S); the structure is identity-mapped, and the frame allocator never hands out
    // its frames (info_range is reserved), so it stays as GRUB wrote it.
    unsafe { BootInformation::load(address as usize as *const BootInformationHeader) }
}

/// The screen the boot loader set up, from the multiboot2 framebuffer tag (spec 3.6.12).
/// Read on its own, before anything else: the console needs it before the first log line.
#[cfg(target_os = "none")]
pub fn screen(address: u32) -> crate::console::screen::ScreenInfo {
    use crate::console::framebuffer::{ColourField, FramebufferInfo};
    use crate::console::screen::ScreenInfo;
    use multiboot2::FramebufferType;

    let Ok(mb) = load(address) else {
        return ScreenInfo::None; // boot::init reports the broken boot information
    };
    let tag = match mb.framebuffer_tag() {
        None => return ScreenInfo::None,
        Some(Err(_)) => return ScreenInfo::Unsupported("an unknown framebuffer type"),
        Some(Ok(tag)) => tag,
    };
    let field = |f: multiboot2::FramebufferField| ColourField {
        position: f.position,
        size: f.size,
    };
    let (kind, rgb) = match tag.buffer_type() {
        Ok(FramebufferType::Text) => (2, None),
        Ok(FramebufferType::RGB { red, green, blue }) => (
            1,
            Some(FramebufferInfo {
                address: tag.address(),
                pitch: tag.pitch(),
                width: tag.width(),
                height: tag.height(),
                bits_per_pixel: tag.bpp(),
                red: field(red),
                green: field(green),
                blue: field(blue),
            }),
        ),
        Ok(FramebufferType::Indexed { .. }) => (0, None),
        Err(_) => (u8::MAX, None),
    };
    ScreenInfo::from_tag(kind, tag.address(), tag.width(), tag.height(), rgb)
}

/// Reads the multiboot2 information at physical address `address`, logs a summary, and keeps
/// it for [`info`]. Halts with a clear message if the structure is unreadable.
#[cfg(target_os = "none")]
pub fn init(address: u32) -> &'static BootInfo {
    let mb = match load(address) {
        Ok(mb) => mb,
        Err(error) => panic!("multiboot2 boot information at {address:#x} is invalid: {error:?}"),
    };
    let boot_info = BOOT_INFO.call_once(|| {
        // The strings point into the boot information, which stays mapped and reserved.
        let leak = |text: &str| -> &'static str {
            // SAFETY: the boot information is never freed or overwritten (the frame
            // allocator excludes info_range), so its strings live as long as the kernel.
            unsafe { core::mem::transmute::<&str, &'static str>(text) }
        };
        let loader_name = mb
            .boot_loader_name_tag()
            .and_then(|t| t.name().ok())
            .unwrap_or("?");
        let cmdline_text = mb
            .command_line_tag()
            .and_then(|t| t.cmdline().ok())
            .unwrap_or("");
        let cmdline_text = leak(cmdline_text);
        let cmdline = KernelArgs::parse(cmdline_text, |word| {
            log::warn!("boot: ignoring unknown kernel argument {:?}", word.0)
        });
        let mut memory_map = MemoryMap::default();
        if let Some(tag) = mb.memory_map_tag() {
            for area in tag.memory_areas() {
                let type_id: u32 = area.typ().into();
                memory_map.push(
                    area.start_address(),
                    area.size(),
                    RegionKind::from_multiboot2(type_id),
                );
            }
        }
        BootInfo {
            loader_name: leak(loader_name),
            cmdline_text,
            cmdline,
            memory_map,
            info_range: mb.start_address() as u64..mb.end_address() as u64,
            module_count: mb.module_tags().count(),
        }
    });
    log_summary(boot_info);
    boot_info
}

#[cfg(target_os = "none")]
fn log_summary(info: &BootInfo) {
    log::info!(
        "boot: loaded by {:?}, command line {:?}",
        info.loader_name,
        info.cmdline_text
    );
    log::info!(
        "boot: multiboot2 info at {:#x}..{:#x}, {} module(s)",
        info.info_range.start,
        info.info_range.end,
        info.module_count
    );
    for region in info.memory_map.regions() {
        log::info!(
            "boot: memory {:#012x}..{:#012x} {:>8} KiB {:?}",
            region.start,
            region.end,
            (region.end - region.start) / 1024,
            region.kind
        );
    }
    log::info!(
        "boot: {} MiB of usable RAM reported",
        info.memory_map.usable_bytes() >> 20
    );
}

/// The boot information read by [`init`].
#[cfg(target_os = "none")]
pub fn info() -> &'static BootInfo {
    BOOT_INFO.get().expect("boot::init runs first in kmain")
}
