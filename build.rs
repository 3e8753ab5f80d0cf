//! Two jobs before the crate compiles:
//! - hands the kernel's linker script to the linker, for the kernel target only (host builds,
//!   the unit tests, link as ordinary programs);
//! - renders the book (docs/*.md) to HTML pages with pulldown-cmark (src/http/book.rs), and
//!   lists the web site's files (www/, the book's Markdown, figures and pages, all served
//!   under /docs/) in `$OUT_DIR/site_files.rs`, which src/http/site.rs includes: each file
//!   becomes an `include_bytes!`, compiled into the kernel image, with its validators for HTTP caching
//!   (src/http/conditional.rs): a strong ETag, the FNV-1a hash of its bytes, and its
//!   modification time for Last-Modified.

use std::collections::HashSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

#[path = "src/http/book.rs"]
mod book;

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
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut files = Vec::new();
    collect_files(&dir.join("www"), "", &mut files);
    // The book: its Markdown (served as text), its figures, and the HTML pages made from it.
    let mut book = Vec::new();
    collect_files(&dir.join("docs"), "/docs", &mut book);
    book.retain(|(url, _)| url.ends_with(".md") || url.ends_with(".svg"));
    files.extend(render_book(dir, &book, &out.join("book")));
    files.extend(book);
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
    std::fs::write(out.join("site_files.rs"), table).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=www");
    println!("cargo:rerun-if-changed=docs");
    println!("cargo:rerun-if-changed=src/http/book.rs");
}

/// Renders each Markdown file of `sources` (URL, path: the book's files under docs/) to an
/// HTML page in `out` (src/http/book.rs says how), and SUMMARY.md to the contents page
/// `/docs/index.html`. Pages follow each other in the order of the contents. Returns the
/// pages' URLs and files.
fn render_book(dir: &Path, sources: &[(String, PathBuf)], out: &Path) -> Vec<(String, PathBuf)> {
    let in_docs = |url: &str| url.strip_prefix("/docs/").unwrap_or(url).to_string();
    let embedded: HashSet<String> = sources.iter().map(|(url, _)| in_docs(url)).collect();
    let is_embedded = |path: &str| embedded.contains(path);
    let read = |path: &Path| std::fs::read_to_string(path).expect("the book's files are UTF-8");
    let book_title = book_title(&read(&dir.join("docs/book.toml")));
    let contents = book::render(
        "SUMMARY.md",
        &read(&dir.join("docs/SUMMARY.md")),
        &is_embedded,
    );
    // The reading order: the pages the contents link to, in its order, each with its title.
    let order: Vec<(&str, &str)> = contents
        .links
        .iter()
        .filter(|(_, url)| url.starts_with("/docs/") && !url.contains('#'))
        .map(|(title, url)| (url.as_str(), title.as_str()))
        .collect();
    let mut pages = Vec::new();
    let mut write = |url: &str, name: &str, page: &book::Page<'_>| {
        let path = out.join(name);
        let html = book::page_html(page, &book_title);
        std::fs::create_dir_all(path.parent().unwrap()).expect("OUT_DIR is writable");
        // Rewritten only when it changes: its modification time is the page's Last-Modified.
        if std::fs::read_to_string(&path).ok().as_deref() != Some(html.as_str()) {
            std::fs::write(&path, html).expect("OUT_DIR is writable");
        }
        pages.push((url.to_string(), path));
    };
    write(
        "/docs/index.html",
        "index.html",
        &book::Page {
            title: "Contents",
            body: &contents.body,
            source_url: Some("/docs/SUMMARY.md"),
            previous: None,
            next: order.first().copied(),
        },
    );
    for (url, path) in sources {
        let name = in_docs(url);
        let Some(stem) = name.strip_suffix(".md") else {
            continue;
        };
        if name == "SUMMARY.md" {
            continue;
        }
        let chapter = book::render(&name, &read(path), &is_embedded);
        let page_url = book::page_url(&name);
        let position = order.iter().position(|(url, _)| *url == page_url);
        let previous = match position {
            Some(0) => Some(("/docs/", "Contents")),
            Some(i) => Some(order[i - 1]),
            None => None,
        };
        write(
            &page_url,
            &format!("{stem}.html"),
            &book::Page {
                title: if chapter.title.is_empty() {
                    &name
                } else {
                    &chapter.title
                },
                body: &chapter.body,
                source_url: Some(url),
                previous,
                next: position.and_then(|i| order.get(i + 1).copied()),
            },
        );
    }
    pages
}

/// The `title = "..."` of the book's mdBook configuration (docs/book.toml).
fn book_title(config: &str) -> String {
    config
        .lines()
        .find_map(|line| line.strip_prefix("title = "))
        .map(|quoted| quoted.trim().trim_matches('"').to_string())
        .expect("docs/book.toml has a title")
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
