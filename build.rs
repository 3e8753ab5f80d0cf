//! Two jobs before the crate compiles:
//! - hands the kernel's linker script to the linker, for the kernel target only (host builds,
//!   the unit tests, link as ordinary programs);
//! - lists the web site's files (www/, and the docs/*.md chapters served under /docs/) in
//!   `$OUT_DIR/site_files.rs`, which src/http/site.rs includes: each file becomes an
//!   `include_bytes!`, compiled into the kernel image, with its validators for HTTP caching
//!   (src/http/conditional.rs): a strong ETag, the FNV-1a hash of its bytes, and its
//!   modification time for Last-Modified.

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

/// Writes `static SITE_FILES: &[SiteEntry]`: URL path, contents, ETag and modification time
/// (seconds since the epoch), sorted by path.
fn write_site_table(dir: &Path) {
    let mut files = Vec::new();
    collect_files(&dir.join("www"), "", &mut files);
    let mut chapters = Vec::new();
    collect_files(&dir.join("docs"), "/docs", &mut chapters);
    files.extend(chapters.into_iter().filter(|(url, _)| url.ends_with(".md")));
    files.sort();
    let mut table = String::from("static SITE_FILES: &[SiteEntry] = &[\n");
    for (url, path) in &files {
        let bytes = std::fs::read(path).expect("a listed file is readable");
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        writeln!(
            table,
            "    SiteEntry {{ url: {url:?}, bytes: include_bytes!({:?}), etag: \"\\\"{}\\\"\", last_modified: {modified} }},",
            path.display(),
            entity_tag(&bytes),
        )
        .unwrap();
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("site_files.rs"), table).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=www");
    println!("cargo:rerun-if-changed=docs");
}

/// A strong entity tag for `bytes`: their length and 64-bit FNV-1a hash, in hex. Any change
/// to a file changes it (a collision would need a deliberate effort, and these are our own
/// files). Computed here, once, so the kernel never hashes at run time.
fn entity_tag(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:x}-{hash:016x}", bytes.len())
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
