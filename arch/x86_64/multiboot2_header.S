// The multiboot2 header: how GRUB recognises this file as a kernel it can load.
// Multiboot2 spec, section 3.1: the header must lie within the first 32 KiB of the
// image, 8-byte aligned; magic + architecture + length + checksum must sum to 0 (mod 2^32).
// The linker script places this section first and KEEPs it.

.section .multiboot2_header, "a"
.balign 8
mb2_header_start:
    .long 0xe85250d6                                  // magic (spec 3.1.1)
    .long 0                                           // architecture 0: 32-bit protected-mode i386
    .long mb2_header_end - mb2_header_start           // header length
    .long 0x100000000 - (0xe85250d6 + 0 + (mb2_header_end - mb2_header_start))   // checksum
    // Framebuffer tag (spec 3.1.10), optional (flags bit 0): "a linear framebuffer of 1024 x
    // 768 x 32 bits per pixel would suit us". GRUB then sets a graphics mode where it can
    // (under UEFI the firmware's Graphics Output Protocol has no text mode anyway) and says
    // what it chose in the framebuffer info tag. On a BIOS PC grub/grub.cfg overrides this
    // with `gfxpayload=text`: the kernel keeps VGA text mode there.
    .balign 8
mb2_framebuffer_tag:
    .short 5                                          // type: framebuffer
    .short 1                                          // flags: optional
    .long 20                                          // size
    .long 1024                                        // width
    .long 768                                         // height
    .long 32                                          // depth
    // End tag (spec 3.1.3): type 0, flags 0, size 8. The kernel is an ELF, so GRUB reads
    // the load addresses and the entry point from the ELF headers.
    .balign 8
    .short 0
    .short 0
    .long 8
mb2_header_end:

// Back to .text, where the compiler expects to be after a global_asm! block.
.text
