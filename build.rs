//! Two jobs before the crate compiles:
//! - hands the kernel's linker script to the linker, for the kernel target only (host builds,
//!   the unit tests, link as ordinary programs);
//! - lists the web site's files (www/, and the docs/*.md chapters served under /docs/) in
//!   `$OUT_DIR/site_files.rs`, which src/http/site.rs includes: each file becomes an
//!   `include_bytes!`, compiled into the kernel image.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    let dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    if target == "x86_64-unknown-none" {
        println!(
            "cargo:rustc-link-arg-bins=-T{}/arch/x86_64/linker.ld",
            dir.display()
        );
        println!("cargo:rustc-link-arg-bins=-zmax-page-size=0x1000");
        // Every input section must be placed by the script: a new kind of section (a crate
        // that emits .init_array, say) stops the link instead of landing somewhere unplanned.
        println!("cargo:rustc-link-arg-bins=--orphan-handling=error");
    }
    println!("cargo:rerun-if-changed=arch/x86_64");
    println!("cargo:rerun-if-changed=build.rs");
    write_site_table(&dir);
}

/// Writes `static SITE_FILES: &[(&str, &[u8])]`: URL path and contents, sorted by path.
fn write_site_table(dir: &Path) {
    let mut files = Vec::new();
    collect_files(&dir.join("www"), "", &mut files);
    let mut chapters = Vec::new();
    collect_files(&dir.join("docs"), "/docs", &mut chapters);
    files.extend(chapters.into_iter().filter(|(url, _)| url.ends_with(".md")));
    files.sort();
    let mut table = String::from("static SITE_FILES: &[(&str, &[u8])] = &[\n");
    for (url, path) in &files {
        writeln!(
            table,
            "    ({url:?}, include_bytes!({:?})),",
            path.display()
        )
        .unwrap();
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("site_files.rs"), table).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=www");
    println!("cargo:rerun-if-changed=docs");
}

/// Adds every file under `dir` (recursively) with its URL path `prefix/relative/path`.
/// A missing directory adds nothing.
fn collect_files(dir: &Path, prefix: &str, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let url = format!("{prefix}/{name}");
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect_files(&path, &url, files);
        } else {
            files.push((url, path));
        }
    }
}
