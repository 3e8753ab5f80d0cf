//! The embedded web site: every file of www/ (served at `/name`) and of docs/ (served at
//! `/docs/name`), compiled into the kernel image by build.rs. There is no file system: a
//! request can only ever name one of these entries, so no path can escape them.
//!
//! Each file also carries its validators, computed by build.rs: a strong ETag (a hash of its
//! bytes) and its modification time, for conditional requests (src/http/conditional.rs).

use super::conditional::Validators;

/// One row of the table build.rs writes.
struct SiteEntry {
    url: &'static str,
    bytes: &'static [u8],
    etag: &'static str,
    last_modified: u64,
}

include!(concat!(env!("OUT_DIR"), "/site_files.rs"));

/// An embedded file: its contents, the Content-Type it is served with, and its validators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteFile {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    pub validators: Validators,
}

/// The embedded file at URL path `path` (`/` is `/index.html`).
pub fn lookup(path: &str) -> Option<SiteFile> {
    let path = if path == "/" { "/index.html" } else { path };
    let index = SITE_FILES
        .binary_search_by(|entry| entry.url.cmp(path))
        .ok()?;
    let entry = &SITE_FILES[index];
    Some(SiteFile {
        bytes: entry.bytes,
        content_type: content_type(path),
        validators: Validators {
            etag: entry.etag,
            last_modified: Some(entry.last_modified),
        },
    })
}

/// The Content-Type for a file name, by its extension. Markdown is served as plain text so
/// that browsers show the chapters instead of downloading them.
pub fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    match extension {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "md" | "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_page_is_embedded() {
        let home = lookup("/").expect("www/index.html is embedded");
        assert_eq!(home, lookup("/index.html").unwrap());
        assert!(home.content_type.starts_with("text/html"));
        assert!(home.bytes.starts_with(b"<!DOCTYPE html>"));
    }

    #[test]
    fn table_is_sorted_for_binary_search() {
        let all: Vec<_> = SITE_FILES.iter().map(|entry| entry.url).collect();
        assert!(all.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(all.iter().all(|path| lookup(path).is_some()));
    }

    #[test]
    fn each_file_has_a_strong_etag_of_its_bytes() {
        let home = lookup("/").unwrap();
        let tag = home.validators.etag;
        assert!(tag.starts_with('"') && tag.ends_with('"') && !tag.starts_with("W/"));
        assert!(tag.starts_with(&alloc::format!("\"{:x}-", home.bytes.len())));
        let css = lookup("/style.css").unwrap();
        assert_ne!(css.validators.etag, tag);
        assert!(home.validators.last_modified.unwrap() > 1_600_000_000);
    }

    #[test]
    fn unknown_paths_are_not_found() {
        assert_eq!(lookup("/nope.html"), None);
        assert_eq!(lookup("index.html"), None);
        assert_eq!(lookup("/../Cargo.toml"), None);
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("/a/b.css"), "text/css; charset=utf-8");
        assert_eq!(
            content_type("/docs/09-network.md"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type("/noext"), "application/octet-stream");
    }
}
