//! Hands the kernel's linker script to the linker, for the kernel target only:
//! host builds (the unit tests) link as ordinary programs.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    if target == "x86_64-unknown-none" {
        println!("cargo:rustc-link-arg-bins=-T{dir}/arch/x86_64/linker.ld");
        println!("cargo:rustc-link-arg-bins=-zmax-page-size=0x1000");
    }
    println!("cargo:rerun-if-changed=arch/x86_64");
    println!("cargo:rerun-if-changed=build.rs");
}
