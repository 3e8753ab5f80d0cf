//! The embedded web site, compiled into the kernel image by build.rs: every file of www/
//! (served at `/name`), and the book: its Markdown as plain text (`/docs/01-boot.md`), its
//! figures (`/docs/figures/bench.svg`), and the HTML pages build.rs renders from it
//! (`/docs/01-boot.html`; the contents at `/docs/`; src/http/book.rs). There is no file
//! system: a request can only ever name one of these entries, so no path can escape them.
//!
//! Each file also carries its validators, computed by build.rs: a strong ETag (a hash of its
//! bytes) and its modification time, for conditional requests (src/http/conditional.rs); and
//! an HTML page the Content-Security-Policy that fits it.

use super::conditional::Validators;

/// One row of the table build.rs writes.
struct SiteEntry {
    url: &'static str,
    bytes: &'static [u8],
    etag: &'static str,
    last_modified: u64,
}

include!(concat!(env!("OUT_DIR"), "/site_files.rs"));

/// The dashboard's policy: scripts, styles, images and fetches from this server only (plus
/// `data:` images, for the page's empty favicon); no plugins, no frames around it, no base URL
/// or form target elsewhere. The page has no inline script or style, so nothing needs
/// 'unsafe-inline'.
pub const DASHBOARD_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The book's pages: text, a stylesheet and images from this server, and nothing that runs:
/// no script at all, no fetches.
pub const BOOK_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// An embedded file: its contents, the Content-Type it is served with, its validators, and
/// for an HTML page its Content-Security-Policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteFile {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    pub validators: Validators,
    pub security_policy: Option<&'static str>,
}

/// The embedded file at URL path `path` (`/` is `/index.html`, `/docs/` and `/docs` the
/// book's contents, `/docs/index.html`).
pub fn lookup(path: &str) -> Option<SiteFile> {
    let path = match path {
        "/" => "/index.html",
        "/docs" | "/docs/" => "/docs/index.html",
        _ => path,
    };
    let index = SITE_FILES
        .binary_search_by(|entry| entry.url.cmp(path))
        .ok()?;
    let entry = &SITE_FILES[index];
    let content_type = content_type(path);
    let security_policy = match (
        content_type.starts_with("text/html"),
        path.starts_with("/docs/"),
    ) {
        (false, _) => None,
        (true, false) => Some(DASHBOARD_POLICY),
        (true, true) => Some(BOOK_POLICY),
    };
    Some(SiteFile {
        bytes: entry.bytes,
        content_type,
        validators: Validators {
            etag: entry.etag,
            last_modified: Some(entry.last_modified),
        },
        security_policy,
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
    fn the_book_is_served_as_html_and_as_markdown() {
        let contents = lookup("/docs/").expect("the contents page is embedded");
        assert_eq!(lookup("/docs"), Some(contents));
        assert_eq!(lookup("/docs/index.html"), Some(contents));
        let text = core::str::from_utf8(contents.bytes).unwrap();
        assert!(text.contains("<a href=\"/docs/01-boot.html\">"));
        let chapter = lookup("/docs/01-boot.html").unwrap();
        assert!(chapter.content_type.starts_with("text/html"));
        assert_eq!(chapter.security_policy, Some(BOOK_POLICY));
        assert!(!BOOK_POLICY.contains("script-src"));
        let source = lookup("/docs/01-boot.md").unwrap();
        assert!(source.content_type.starts_with("text/plain"));
        assert_eq!(source.security_policy, None);
        assert_ne!(source.validators.etag, chapter.validators.etag);
        assert!(lookup("/docs/figures/bench.svg").is_some());
        assert_eq!(lookup("/").unwrap().security_policy, Some(DASHBOARD_POLICY));
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
