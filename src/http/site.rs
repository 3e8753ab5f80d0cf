//! The embedded web site: every file of www/ (served at `/name`) and of docs/ (served at
//! `/docs/name`), compiled into the kernel image by build.rs. There is no file system: a
//! request can only ever name one of these entries, so no path can escape them.

include!(concat!(env!("OUT_DIR"), "/site_files.rs"));

/// An embedded file: its contents and the Content-Type it is served with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteFile {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
}

/// The embedded file at URL path `path` (`/` is `/index.html`).
pub fn lookup(path: &str) -> Option<SiteFile> {
    let path = if path == "/" { "/index.html" } else { path };
    let index = SITE_FILES
        .binary_search_by(|(url, _)| (*url).cmp(path))
        .ok()?;
    Some(SiteFile {
        bytes: SITE_FILES[index].1,
        content_type: content_type(path),
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
        let all: Vec<_> = SITE_FILES.iter().map(|(url, _)| *url).collect();
        assert!(all.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(all.iter().all(|path| lookup(path).is_some()));
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
