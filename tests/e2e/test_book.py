"""The book served by the kernel as HTML (docs/10-http.md, "What the site serves"): the contents
at /docs/, every chapter rendered at build time (src/http/book.rs), and every link in them, all
fetched from the running kernel. One boot."""

import glob
import html.parser
import os
import re
import urllib.parse

from http_probe import Server
from qemu import Qemu, build_iso

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
vm = None
server = None
pages = {}  # URL path -> Page, every page of the book fetched so far


class Page(html.parser.HTMLParser):
    """An HTML page's links (href and src), ids, title, and the text of its code blocks."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.links, self.ids, self.code_blocks = [], set(), []
        self.title, self._in_title, self._in_pre = "", False, False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src"):
            if attrs.get(name) and tag in ("a", "link", "img", "script"):
                self.links.append(attrs[name])
        for name in ("id", "name"):
            if attrs.get(name) and (name == "id" or tag == "a"):
                self.ids.add(attrs[name])
        self._in_title |= tag == "title"
        if tag == "pre":
            self._in_pre = True
            self.code_blocks.append("")

    def handle_endtag(self, tag):
        self._in_title &= tag != "title"
        self._in_pre &= tag != "pre"

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._in_pre:
            self.code_blocks[-1] += data


def setup_module():
    global vm, server
    vm = Qemu(build_iso(""), timeout=300).start()
    vm.wait_for(r"READY", timeout=90)
    server = Server(vm.port)


def teardown_module():
    if vm:
        vm.kill()


def fetch(path):
    """GET `path` through http.client; returns (status, headers, body)."""
    return server.client_get("GET", path)


def html_page(path):
    """The page at `path`, checked as an HTML page of the book: 200, its type, its validators
    and the headers issue 12 asks of HTML (nosniff, a policy that lets nothing run)."""
    if path not in pages:
        status, headers, body = fetch(path)
        assert status == 200, f"{path}: {status}"
        assert headers["content-type"] == "text/html; charset=utf-8", (path, headers)
        assert headers["x-content-type-options"] == "nosniff", path
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy, (path, policy)
        assert headers["etag"].startswith('"') and headers["cache-control"] == "no-cache", headers
        pages[path] = Page(body.decode("utf-8"))
    return pages[path]


def chapter_files():
    """The Markdown files of the book, as build.rs finds them (SUMMARY.md is the contents)."""
    files = [os.path.relpath(p, os.path.join(ROOT, "docs"))
             for p in glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)]
    return sorted(f for f in files if f != "SUMMARY.md")


def test_contents_lists_every_chapter_of_the_summary():
    contents = html_page("/docs/")
    assert "Contents" in contents.title, contents.title
    summary = open(os.path.join(ROOT, "docs", "SUMMARY.md")).read()
    listed = re.findall(r"\]\(([^)#]+\.md)\)", summary)
    assert len(listed) >= 10, listed
    for name in listed:
        assert f"/docs/{name[:-3]}.html" in contents.links, f"/docs/ does not link {name}"
    assert "/" in contents.links, "no way back to the dashboard"
    assert fetch("/docs")[2] == fetch("/docs/index.html")[2] == fetch("/docs/")[2]


def test_every_chapter_is_a_page_linked_to_its_neighbours():
    # The reading order: the contents' links, each once (its bar links the first page too).
    order = list(dict.fromkeys(link for link in html_page("/docs/").links
                               if link.startswith("/docs/") and link.endswith(".html")))
    for name in chapter_files():
        path = f"/docs/{name[:-3]}.html"
        page = html_page(path)
        heading = next((line[2:] for line in open(os.path.join(ROOT, "docs", name))
                        if line.startswith("# ")), None)
        assert heading is None or page.title.startswith(heading.replace("`", "").strip()), (path, page.title)
        assert "/" in page.links and "/docs/" in page.links, f"{path}: no dashboard or contents link"
        assert f"/docs/{name}" in page.links, f"{path}: no link to its Markdown"
        if path in order:
            at = order.index(path)
            if at + 1 < len(order):
                assert order[at + 1] in page.links, f"{path}: no link to the next page {order[at + 1]}"
            if at > 0:
                assert order[at - 1] in page.links, f"{path}: no link to the previous page"
    print(f"    {len(chapter_files())} chapters rendered")


def test_every_link_answers_and_every_anchor_exists():
    html_page("/docs/")
    for name in chapter_files():
        html_page(f"/docs/{name[:-3]}.html")
    checked, anchors = set(), 0
    for source, page in list(pages.items()):
        for link in page.links:
            url = urllib.parse.urljoin(source, link)
            parts = urllib.parse.urlsplit(url)
            if parts.scheme in ("http", "https") or parts.scheme == "data" or link.startswith("data:"):
                continue  # another site, or an inline image
            assert not parts.scheme, f"{source}: unexpected link {link}"
            target = parts.path
            if target.endswith(".html") or target in ("/docs/", "/"):
                if target == "/":
                    assert fetch("/")[0] == 200
                    continue
                linked = html_page(target)
                if parts.fragment:
                    anchors += 1
                    assert urllib.parse.unquote(parts.fragment) in linked.ids, \
                        f"{source} links to {link}, but {target} has no id '{parts.fragment}'"
            elif target not in checked:
                status, headers, _ = fetch(target)
                assert status == 200, f"{source} links to {link}: {status}"
                checked.add(target)
    print(f"    {len(pages)} pages, {len(checked)} other files, {anchors} links to anchors")
    assert anchors > 50, "the glossary links alone should be more"


def test_code_blocks_are_escaped_and_markdown_stays_text():
    # Chapter 10 shows a request head and Rust generics: text with '<', '>' and '&'.
    status, _, body = fetch("/docs/10-http.html")
    assert status == 200
    text = body.decode()
    page = html_page("/docs/10-http.html")
    blocks = "".join(page.code_blocks)
    assert "<" in blocks or "&" in blocks, "no code block with < or & in chapter 10 to check"
    for block in page.code_blocks:
        escaped = block.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in text, f"a code block is not escaped as text: {block[:80]!r}"
    assert "<script" not in text
    # The tables extension: chapter 10's route table is a table.
    assert "<table>" in text and "<td><code>/api/stats</code>" in text
    # The Markdown itself is still served, as plain text, where the tests and old links find it.
    status, headers, source = fetch("/docs/10-http.md")
    assert status == 200 and headers["content-type"] == "text/plain; charset=utf-8"
    assert source == open(os.path.join(ROOT, "docs", "10-http.md"), "rb").read()
    assert "content-security-policy" not in headers


def test_the_dashboards_docs_links_land_on_chapters():
    status, _, body = fetch("/")
    assert status == 200
    dashboard = Page(body.decode())
    expected = {"Activity": "10-http", "Scheduler": "04-threads", "Memory": "02-memory",
                "Network": "09-network", "HTTP server": "10-http", "PCI devices": "05-pci"}
    text = body.decode()
    for section, chapter in expected.items():
        match = re.search(re.escape(section) + r'[^<]*<a class="doc" href="([^"]+)"', text)
        assert match, f"the dashboard's {section} panel has no docs link"
        assert match.group(1) == f"/docs/{chapter}.html", (section, match.group(1))
    for link in dashboard.links:
        if link.startswith("/docs/"):
            assert fetch(link)[0] == 200, link


def test_book_pages_are_cached_like_other_files():
    status, headers, _ = fetch("/docs/01-boot.html")
    assert status == 200
    again = server.client_get("GET", "/docs/01-boot.html", {"If-None-Match": headers["etag"]})
    assert again[0] == 304 and again[2] == b""
    part = server.client_get("GET", "/docs/01-boot.html", {"Range": "bytes=0-14"})
    assert part[0] == 206 and part[2] == b"<!DOCTYPE html>", part[:2]
    assert headers["accept-ranges"] == "bytes" and "last-modified" in headers
    assert headers["etag"] != fetch("/docs/01-boot.md")[1]["etag"]
    status, headers, _ = fetch("/book.css")
    assert status == 200 and headers["content-type"] == "text/css; charset=utf-8"
