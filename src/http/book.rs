//! The book as HTML, rendered at build time: build.rs includes this file and turns every
//! chapter of docs/ into a page the kernel serves under `/docs/` (src/http/site.rs). The
//! kernel never runs it; the library compiles it only for its unit tests, so that the rules
//! below are tested on the host like every other piece of pure logic.
//!
//! The Markdown is parsed by pulldown-cmark (CommonMark plus tables), which escapes text and
//! code blocks. This file only rewrites what the book means for a browser:
//! - a link to a chapter, `09-network.md` or `glossary.md#mtu`, points at its page,
//!   `/docs/09-network.html` or `/docs/glossary.html#mtu`; the table of contents (SUMMARY.md)
//!   is the page `/docs/`;
//! - a link to another file the site embeds (`figures/bench.svg`) points at it under `/docs/`;
//! - a link to a file of the repository that the kernel does not serve (`../README.md`) is no
//!   link: its text stays, marked as a repository path, since a browser could not follow it;
//! - a table's column alignment is dropped: it would be a style attribute, which the pages'
//!   Content-Security-Policy refuses;
//! - every heading gets the id mdBook gives it (`make book`), so that `01-boot.md#some-heading`
//!   lands on the same spot in both books and tests/check_docs.py checks both.

use pulldown_cmark::{Alignment, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::collections::HashMap;

/// The page a Markdown file of docs/ becomes: `SUMMARY.md` is `/docs/`, `NAME.md` is
/// `/docs/NAME.html` (`solutions/README.md` is `/docs/solutions/README.html`).
pub fn page_url(markdown_path: &str) -> String {
    match markdown_path.strip_suffix(".md") {
        Some("SUMMARY") => "/docs/".to_string(),
        Some(stem) => format!("/docs/{stem}.html"),
        None => format!("/docs/{markdown_path}"),
    }
}

/// Where a link of the page `from` (a path inside docs/) leads in the served book.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkTarget {
    /// A URL the browser can follow as it is: another site (`https:`), an anchor on this page,
    /// an absolute path of this server.
    Unchanged,
    /// A file of docs/ the kernel embeds, by its URL (fragment kept).
    Served(String),
    /// A file the kernel does not serve, by its path in the repository (`README.md`,
    /// `src/main.rs`).
    Repository(String),
}

/// Resolves the link `destination` written in the page `from`. `embedded` says whether a path
/// inside docs/ is embedded in the kernel (the chapters and the figures).
pub fn resolve_link(from: &str, destination: &str, embedded: &dyn Fn(&str) -> bool) -> LinkTarget {
    if destination.is_empty()
        || destination.starts_with('#')
        || destination.starts_with('/')
        || has_scheme(destination)
    {
        return LinkTarget::Unchanged;
    }
    let (path, fragment) = match destination.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (destination, None),
    };
    let directory = from.rsplit_once('/').map_or("", |(directory, _)| directory);
    let Some(in_docs) = normalize(&format!("{directory}/{path}")) else {
        // It climbs out of docs/: a file of the repository.
        let in_repository = normalize(&format!("docs/{directory}/{path}"));
        return LinkTarget::Repository(in_repository.unwrap_or_else(|| path.to_string()));
    };
    if !embedded(&in_docs) {
        return LinkTarget::Repository(format!("docs/{in_docs}"));
    }
    let mut url = if in_docs.ends_with(".md") {
        page_url(&in_docs)
    } else {
        format!("/docs/{in_docs}")
    };
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    LinkTarget::Served(url)
}

/// Whether a URL starts with a scheme (`https:`, `mailto:`): letters, then letters, digits,
/// `+`, `-` or `.`, then a colon (RFC 3986, section 3.1).
fn has_scheme(url: &str) -> bool {
    let Some((scheme, _)) = url.split_once(':') else {
        return false;
    };
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// A relative path with its `.` and `..` steps taken (`a/../b/./c` is `b/c`); `None` when
/// it climbs above its start.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// The id mdBook gives a heading with this text (its `normalize_id`): letters and digits
/// lower-cased, `_` and `-` kept, whitespace turned into `-`, everything else dropped.
/// tests/check_docs.py computes the same (`mdbook_id`) to check the links to anchors.
pub fn heading_id(text: &str) -> String {
    text.trim()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_ascii_lowercase())
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// The ids given so far on one page: a repeated heading gets `-1`, `-2`, ... as in mdBook.
#[derive(Default)]
pub struct HeadingIds {
    seen: HashMap<String, usize>,
}

impl HeadingIds {
    pub fn unique(&mut self, text: &str) -> String {
        let base = heading_id(text);
        let count = self.seen.entry(base.clone()).or_insert(0);
        let id = if *count == 0 {
            base
        } else {
            format!("{base}-{count}")
        };
        *count += 1;
        id
    }
}

/// One chapter turned into HTML: the text of its first level-1 heading, the HTML of its
/// body, and its links in order (text and URL) as the browser will see them.
#[derive(Debug, Default)]
pub struct Rendered {
    pub title: String,
    pub body: String,
    pub links: Vec<(String, String)>,
}

/// Renders the Markdown file `from` (a path inside docs/) with its links resolved and its
/// headings given ids.
pub fn render(from: &str, markdown: &str, embedded: &dyn Fn(&str) -> bool) -> Rendered {
    let mut rendered = Rendered::default();
    let mut ids = HeadingIds::default();
    let mut events: Vec<Event<'_>> = Vec::new();
    // A heading's events wait here until its end, when its text (hence its id) is known.
    let mut heading: Option<(HeadingLevel, Vec<Event<'_>>)> = None;
    // For each open link: its URL if it stays a link, `None` if it became plain text.
    let mut open_links: Vec<Option<(String, String)>> = Vec::new();
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        let event = match event {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => match resolve_link(from, &dest_url, embedded) {
                LinkTarget::Repository(path) => {
                    open_links.push(None);
                    let mut span = String::from("<span class=\"repo-file\" title=\"");
                    pulldown_cmark_escape::escape_html(&mut span, &path).unwrap();
                    span.push_str(" (in the repository)\">");
                    Event::InlineHtml(span.into())
                }
                target => {
                    let dest_url = match target {
                        LinkTarget::Served(url) => CowStr::from(url),
                        _ => dest_url,
                    };
                    open_links.push(Some((String::new(), dest_url.to_string())));
                    Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    })
                }
            },
            Event::End(TagEnd::Link) => match open_links.pop().flatten() {
                Some(link) => {
                    rendered.links.push(link);
                    Event::End(TagEnd::Link)
                }
                None => Event::InlineHtml("</span>".into()),
            },
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let dest_url = match resolve_link(from, &dest_url, embedded) {
                    LinkTarget::Served(url) => CowStr::from(url),
                    _ => dest_url,
                };
                Event::Start(Tag::Image {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            }
            // pulldown-cmark aligns a column (`|--:|`) with a style attribute, which the
            // book's Content-Security-Policy refuses (no inline style): columns are left as
            // the stylesheet sets them.
            Event::Start(Tag::Table(columns)) => {
                Event::Start(Tag::Table(vec![Alignment::None; columns.len()]))
            }
            other => other,
        };
        if let (Event::Text(text) | Event::Code(text), Some(Some((link_text, _)))) =
            (&event, open_links.last_mut())
        {
            link_text.push_str(text);
        }
        match (event, &mut heading) {
            (Event::Start(Tag::Heading { level, .. }), None) => heading = Some((level, Vec::new())),
            (Event::End(TagEnd::Heading(_)), Some(_)) => {
                let (level, inner) = heading.take().unwrap();
                let text = plain_text(&inner);
                let id = ids.unique(&text);
                if level == HeadingLevel::H1 && rendered.title.is_empty() {
                    rendered.title = text;
                }
                events.push(Event::Start(Tag::Heading {
                    level,
                    id: Some(id.into()),
                    classes: Vec::new(),
                    attrs: Vec::new(),
                }));
                events.extend(inner);
                events.push(Event::End(TagEnd::Heading(level)));
            }
            (event, Some((_, inner))) => inner.push(event),
            (event, None) => events.push(event),
        }
    }
    pulldown_cmark::html::push_html(&mut rendered.body, events.into_iter());
    rendered
}

/// The text of a run of inline events, markup left out (`` `x` `` gives `x`).
fn plain_text(events: &[Event<'_>]) -> String {
    let mut text = String::new();
    for event in events {
        if let Event::Text(part) | Event::Code(part) = event {
            text.push_str(part);
        }
    }
    text
}

/// HTML-escapes `text` for an element's content or an attribute value.
pub fn escape(text: &str) -> String {
    let mut escaped = String::new();
    pulldown_cmark_escape::escape_html(&mut escaped, text).unwrap();
    escaped
}

/// A page of the book, to be put into the template.
pub struct Page<'a> {
    /// The `<title>` and the top of the page.
    pub title: &'a str,
    pub body: &'a str,
    /// The Markdown it was rendered from, served as text beside it (`/docs/01-boot.md`).
    pub source_url: Option<&'a str>,
    /// The pages before and after it in the table of contents: (URL, title).
    pub previous: Option<(&'a str, &'a str)>,
    pub next: Option<(&'a str, &'a str)>,
}

/// The whole HTML document of a page: the stylesheet (/book.css), a bar with the way back
/// to the dashboard and to the contents and the previous and next chapters, then the body.
/// No script: the book's Content-Security-Policy allows none (src/http/site.rs).
pub fn page_html(page: &Page<'_>, book_title: &str) -> String {
    let mut bar = String::from(
        "<nav class=\"bar\"><a href=\"/\">dashboard</a> <a href=\"/docs/\">contents</a>",
    );
    if let Some((url, title)) = page.previous {
        bar.push_str(&format!(
            " <a rel=\"prev\" href=\"{}\">&larr; {}</a>",
            escape(url),
            escape(title)
        ));
    }
    if let Some((url, title)) = page.next {
        bar.push_str(&format!(
            " <a rel=\"next\" href=\"{}\">{} &rarr;</a>",
            escape(url),
            escape(title)
        ));
    }
    if let Some(url) = page.source_url {
        bar.push_str(&format!(
            " <a class=\"source\" href=\"{}\">markdown</a>",
            escape(url)
        ));
    }
    bar.push_str("</nav>\n");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} - {book}</title>\n<link rel=\"icon\" href=\"data:,\">\n\
         <link rel=\"stylesheet\" href=\"/book.css\">\n</head>\n<body>\n{bar}<main>\n{body}</main>\n{bar}</body>\n</html>\n",
        title = escape(page.title),
        book = escape(book_title),
        body = page.body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chapters(path: &str) -> bool {
        path.ends_with(".md") && !path.contains("missing") || path == "figures/bench.svg"
    }

    #[test]
    fn pages_of_markdown_files() {
        assert_eq!(page_url("01-boot.md"), "/docs/01-boot.html");
        assert_eq!(page_url("SUMMARY.md"), "/docs/");
        assert_eq!(
            page_url("solutions/README.md"),
            "/docs/solutions/README.html"
        );
    }

    #[test]
    fn links_between_chapters_lead_to_their_pages() {
        let resolve = |from, to| resolve_link(from, to, &chapters);
        assert_eq!(
            resolve("01-boot.md", "02-memory.md"),
            LinkTarget::Served("/docs/02-memory.html".into())
        );
        assert_eq!(
            resolve("02-memory.md", "glossary.md#mtu"),
            LinkTarget::Served("/docs/glossary.html#mtu".into())
        );
        assert_eq!(
            resolve("solutions/README.md", "../04-threads.md#exercises"),
            LinkTarget::Served("/docs/04-threads.html#exercises".into())
        );
        assert_eq!(
            resolve("README.md", "./SUMMARY.md"),
            LinkTarget::Served("/docs/".into())
        );
        assert_eq!(
            resolve("figures.md", "figures/bench.svg"),
            LinkTarget::Served("/docs/figures/bench.svg".into())
        );
    }

    #[test]
    fn other_links_are_left_alone() {
        for url in [
            "#the-uefi-path",
            "https://docs.rs/httparse",
            "mailto:a@b",
            "/api/stats",
        ] {
            assert_eq!(
                resolve_link("01-boot.md", url, &chapters),
                LinkTarget::Unchanged
            );
        }
        assert!(!has_scheme("01-boot.md#a:b") && !has_scheme("3d:x"));
    }

    #[test]
    fn repository_files_are_named_not_linked() {
        let resolve = |from, to| resolve_link(from, to, &chapters);
        assert_eq!(
            resolve("00-start-here.md", "../README.md"),
            LinkTarget::Repository("README.md".into())
        );
        assert_eq!(
            resolve("solutions/README.md", "../../src/main.rs#L3"),
            LinkTarget::Repository("src/main.rs".into())
        );
        assert_eq!(
            resolve("01-boot.md", "solutions/1.1.patch"),
            LinkTarget::Repository("docs/solutions/1.1.patch".into())
        );
        assert_eq!(
            resolve("01-boot.md", "missing.md"),
            LinkTarget::Repository("docs/missing.md".into())
        );
        assert_eq!(
            resolve("01-boot.md", "../../../etc/passwd"),
            LinkTarget::Repository("../../../etc/passwd".into())
        );
    }

    #[test]
    fn heading_ids_are_mdbooks() {
        assert_eq!(heading_id("Where we are"), "where-we-are");
        assert_eq!(
            heading_id("The UEFI path: no BIOS, no text mode"),
            "the-uefi-path-no-bios-no-text-mode"
        );
        assert_eq!(
            heading_id("Exercise 4.1: The time slice ★☆☆"),
            "exercise-41-the-time-slice-"
        );
        assert_eq!(heading_id(" W^X and `NX_bit` "), "wx-and-nx_bit");
        let mut ids = HeadingIds::default();
        let repeated: Vec<_> = (0..3).map(|_| ids.unique("Try it")).collect();
        assert_eq!(repeated, ["try-it", "try-it-1", "try-it-2"]);
    }

    #[test]
    fn chapter_renders_with_ids_links_tables_and_escaped_code() {
        let markdown = "# 1. The boot\n\nSee [memory](02-memory.md#the-heap), the \
                        [README](../README.md) and [`x` here](#where-we-are).\n\n\
                        ## Where we are\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n\
                        ```rust\nif a < b && c > d { \"<script>\" }\n```\n\n## `Code` & more\n";
        let page = render("01-boot.md", markdown, &chapters);
        assert_eq!(page.title, "1. The boot");
        let body = &page.body;
        assert!(
            body.contains("<h1 id=\"1-the-boot\">1. The boot</h1>"),
            "{body}"
        );
        assert!(body.contains("<h2 id=\"where-we-are\">"));
        assert!(body.contains("<h2 id=\"code--more\"><code>Code</code> &amp; more</h2>"));
        assert!(body.contains("<a href=\"/docs/02-memory.html#the-heap\">memory</a>"));
        assert!(body.contains(
            "<span class=\"repo-file\" title=\"README.md (in the repository)\">README</span>"
        ));
        assert!(body.contains("<table>") && body.contains("<td>2</td>"));
        assert!(
            body.contains("if a &lt; b &amp;&amp; c &gt; d { \"&lt;script&gt;\" }"),
            "{body}"
        );
        assert!(!body.contains("<script>"));
        assert_eq!(
            page.links,
            [
                ("memory".into(), "/docs/02-memory.html#the-heap".into()),
                ("x here".into(), "#where-we-are".into())
            ]
        );
    }

    #[test]
    fn aligned_columns_carry_no_inline_style() {
        let page = render("a.md", "| n | x |\n|--:|:-:|\n| 1 | 2 |\n", &chapters);
        assert!(page.body.contains("<th>n</th>") && page.body.contains("<td>2</td>"));
        assert!(!page.body.contains("style"), "{}", page.body);
    }

    #[test]
    fn template_escapes_titles_and_links_the_neighbours() {
        let html = page_html(
            &Page {
                title: "A <b> & c",
                body: "<p>hi</p>\n",
                source_url: Some("/docs/01-boot.md"),
                previous: Some(("/docs/README.html", "Introduction")),
                next: None,
            },
            "Book",
        );
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>A &lt;b&gt; &amp; c - Book</title>"));
        assert!(
            html.contains("<a rel=\"prev\" href=\"/docs/README.html\">&larr; Introduction</a>")
        );
        assert!(!html.contains("rel=\"next\"") && html.contains("<a href=\"/\">dashboard</a>"));
        assert!(!html.contains("<script"));
    }
}
