"""HTTP/1.1 as RFC 9110 and RFC 9112 say an origin server speaks it, and caching and ranges as
clients expect them (docs/10-http.md). One boot; each rule is asked three ways: raw bytes on a
socket, Python's http.client, and curl. Where a client cannot send the case (curl never sends a
lower-case version token), the test says so."""

import json
import os
import subprocess
import tempfile

from http_probe import Reader, Server
from qemu import Qemu, build_iso

vm = None
server = None
ALLOW = "GET, HEAD, OPTIONS"


def setup_module():
    global vm, server
    vm = Qemu(build_iso(""), timeout=600).start()
    vm.wait_for(r"READY", timeout=90)
    server = Server(vm.port)


def teardown_module():
    if vm:
        vm.kill()


def raw_response(data, head_request=False):
    """Sends `data` on a fresh connection; returns the first response (code, headers, body)."""
    with server.connect() as s:
        s.sendall(data)
        return Reader(s).response(head_request=head_request)


def test_host_is_required_once_in_http11():
    # RFC 9112, section 3.2: no Host in HTTP/1.1, or two, is 400.
    assert raw_response(b"GET / HTTP/1.1\r\n\r\n")[0] == 400
    assert raw_response(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")[0] == 400
    assert raw_response(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n")[0] == 400
    assert raw_response(b"GET / HTTP/1.0\r\n\r\n")[0] == 200  # 1.0 may leave it out

    connection = server.client()
    connection.putrequest("GET", "/", skip_host=True)
    connection.endheaders()
    assert connection.getresponse().status == 400
    connection.close()
    connection = server.client()
    connection.putrequest("GET", "/", skip_host=True)
    connection.putheader("Host", "a")
    connection.putheader("Host", "b")
    connection.endheaders()
    assert connection.getresponse().status == 400
    connection.close()

    assert server.curl("-H", "Host:")[0] == 400  # curl drops its own Host line
    # curl sends one Host whatever it is given (the last -H Host wins): the two-Host case
    # is asked by the raw socket and http.client only.
    assert server.curl("-H", "Host: a/b")[0] == 400


def test_absolute_form_targets_are_accepted():
    # Section 3.2.2: a server must accept `GET http://host/path`.
    code, headers, body = raw_response(b"GET http://10.0.2.15/style.css HTTP/1.1\r\nHost: x\r\n\r\n")
    assert code == 200 and headers["content-type"].startswith("text/css"), (code, headers)
    css = body
    status, _, body = server.client_get("GET", "http://10.0.2.15/style.css")
    assert status == 200 and body == css
    status, _, body = server.curl("--request-target", "http://10.0.2.15/style.css")
    assert status == 200 and body == css


def test_options_answers_with_allow():
    # RFC 9110, section 9.3.7: OPTIONS * is about the server, OPTIONS /x about a resource.
    for target in (b"*", b"/index.html"):
        code, headers, body = raw_response(b"OPTIONS " + target + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        assert code == 200 and headers["allow"] == ALLOW and headers["content-length"] == "0", headers
        assert body == b""
    assert raw_response(b"OPTIONS /missing HTTP/1.1\r\nHost: t\r\n\r\n")[0] == 404
    assert raw_response(b"GET * HTTP/1.1\r\nHost: t\r\n\r\n")[0] == 400
    for target in ("*", "/style.css"):
        status, headers, _ = server.client_get("OPTIONS", target)
        assert status == 200 and headers["allow"] == ALLOW
    status, headers, _ = server.curl("-X", "OPTIONS", "--request-target", "*")
    assert status == 200 and headers["allow"] == ALLOW
    status, headers, _ = server.curl("-X", "OPTIONS", path="/dashboard.js")
    assert status == 200 and headers["allow"] == ALLOW
    # And a 405 names the same methods.
    assert server.curl("-X", "DELETE", path="/")[1]["allow"] == ALLOW


def test_paths_are_percent_decoded_before_routing_and_checked_after():
    home = server.request("GET", "/index.html")[2]
    chapter = server.request("GET", "/docs/SUMMARY.md")[2]
    cases = (
        ("/%69ndex.html", 200, home),
        ("/docs%2FSUMMARY.md", 200, chapter),
        ("/%2e%2e/Cargo.toml", 400, None),
        ("/docs/%2E%2E%2Fbuild.rs", 400, None),
        ("/a%00b", 400, None),
        ("/%zz", 400, None),
        ("//index.html", 404, None),  # an empty segment: a name nothing has, not an attack
    )
    for path, code, body in cases:
        got = raw_response(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        assert got[0] == code, (path, got[0])
        status, _, got_body = server.client_get("GET", path)
        assert status == code, (path, status)
        status, _, curl_body = server.curl("--path-as-is", path=path)
        assert status == code, (path, status)
        if body is not None:
            assert got[2] == got_body == curl_body == body, path


def test_small_bodies_are_read_and_dropped_and_the_connection_kept():
    # A GET with a body, then a POST answered 405: both bodies read and dropped, and the next
    # request on the same connection is answered.
    with server.connect() as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
                  b"POST /index.html HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nx=1"
                  b"GET /style.css HTTP/1.1\r\nHost: t\r\n\r\n")
        reader = Reader(s)
        answers = [reader.response() for _ in range(3)]
        assert [a[0] for a in answers] == [200, 405, 200], [a[0] for a in answers]
        assert all(a[1]["connection"] == "keep-alive" for a in answers)

    connection = server.client()
    connection.request("POST", "/index.html", body=b"x=1")
    response = connection.getresponse()
    assert response.status == 405 and response.getheader("Connection") == "keep-alive"
    response.read()
    first_socket = connection.sock
    connection.request("GET", "/")
    response = connection.getresponse()
    assert response.status == 200 and connection.sock is first_socket, "a new connection was needed"
    response.read()
    connection.close()

    report = ["-s", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n"]
    output = subprocess.run(
        ["curl", *report, "-d", "x=1", server.url + "/index.html",
         "--next", *report, server.url + "/style.css"],
        capture_output=True, text=True, timeout=30).stdout.split()
    assert output == ["405", "1", "200", "0"], output  # the second reused the connection


def test_a_body_too_large_to_drop_is_413():
    code, headers, body = raw_response(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n")
    assert (code, headers["connection"], body) == (413, "close", b"413 Content Too Large\n")
    status, _, _ = server.client_get("PUT", "/", headers={"Content-Length": "10000000"})
    assert status == 413
    status, _, _ = server.curl("-X", "PUT", "-H", "Content-Length: 10000000", "-H", "Expect:")
    assert status == 413


def test_transfer_encodings():
    # RFC 9112, section 6.1: a coding the server does not know is 501. Chunked request
    # bodies: this server asks for a Content-Length instead (411; docs/10-http.md says why).
    te = lambda value: raw_response(
        f"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: {value}\r\n\r\n".encode())[0]
    assert te("gzip") == 501
    assert te("gzip, chunked") == 501
    assert te("chunked") == 411
    assert te("chunked, gzip") == 400  # chunked not last: the body's end cannot be found
    assert raw_response(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                        b"Content-Length: 3\r\n\r\n")[0] == 400
    status, _, _ = server.client_get("POST", "/", body=iter([b"abc"]),
                                     headers={"Transfer-Encoding": "chunked"})
    assert status == 411
    status, _, _ = server.client_get("POST", "/", headers={"Transfer-Encoding": "gzip"})
    assert status == 501
    status, _, _ = server.curl("-H", "Transfer-Encoding: chunked", "-d", "abc")
    assert status == 411
    status, _, _ = server.curl("-X", "POST", "-H", "Transfer-Encoding: gzip")
    assert status == 501


def test_version_tokens():
    # RFC 9112, section 2.3: HTTP-version is case-sensitive: `http/1.1` is no version, 400;
    # a well-formed version we do not speak is 505.
    assert raw_response(b"GET / http/1.1\r\nHost: t\r\n\r\n")[0] == 400
    assert raw_response(b"GET / HTTP/2.0\r\nHost: t\r\n\r\n")[0] == 505
    connection = server.client()
    connection._http_vsn_str = "http/1.1"  # what http.client writes as the version token
    connection.request("GET", "/")
    assert connection.getresponse().status == 400
    connection.close()
    # curl has no way to send a lower-case version; it can ask for HTTP/2 over cleartext,
    # which a server that does not speak it answers as HTTP/1.1 (the Upgrade is ignored).
    assert server.curl("--http2")[0] == 200


def test_head_never_has_a_body():
    for request in (b"HEAD /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                    b"HEAD / HTTP/1.1\r\n\r\n",  # no Host: 400, and closed
                    b"HEAD /big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=10-\r\nConnection: close\r\n\r\n",
                    b"HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"):
        out, reset = server.raw_or_reset(request)
        head, _, rest = out.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 ") and rest == b"" and not reset, (request, out[:80])
    connection = server.client()
    for path in ("/missing", "/big.bin", "/"):
        connection.request("HEAD", path)
        response = connection.getresponse()
        assert response.read() == b""
    # Had a body followed, the next answer on this connection would be garbage.
    connection.request("GET", "/style.css")
    assert connection.getresponse().status == 200
    connection.close()
    status, headers, body = server.curl("-I", path="/missing")
    assert status == 404 and body == b"" and int(headers["content-length"]) > 0


def test_static_files_have_validators_and_304():
    code, headers, _ = raw_response(b"GET /style.css HTTP/1.1\r\nHost: t\r\n\r\n")
    etag, modified = headers["etag"], headers["last-modified"]
    assert etag.startswith('"') and headers["cache-control"] == "no-cache"
    assert headers["accept-ranges"] == "bytes"
    code, headers, body = raw_response(
        f"GET /style.css HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\n\r\n".encode())
    assert code == 304 and body == b"" and headers["etag"] == etag and "content-length" not in headers
    assert raw_response(f"GET /style.css HTTP/1.1\r\nHost: t\r\nIf-None-Match: W/{etag}\r\n\r\n"
                        .encode())[0] == 304
    assert raw_response(b"GET /style.css HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"old\"\r\n\r\n")[0] == 200
    status, _, body = server.client_get("GET", "/style.css", headers={"If-Modified-Since": modified})
    assert status == 304 and body == b""
    # The API is live: never cached, no validators.
    _, api_headers, _ = raw_response(b"GET /api/threads HTTP/1.1\r\nHost: t\r\n\r\n")
    assert api_headers["cache-control"] == "no-store" and "etag" not in api_headers


def test_curl_etag_compare_and_time_condition_get_304():
    with tempfile.TemporaryDirectory() as tmp:
        saved = os.path.join(tmp, "etag")
        status, _, body = server.curl("--etag-save", saved, path="/docs/SUMMARY.md")
        assert status == 200 and body
        status, _, body = server.curl("--etag-compare", saved, path="/docs/SUMMARY.md")
        assert status == 304 and body == b"", status
        # -z DATE sends If-Modified-Since; a date after the file's change is "not modified".
        status, _, _ = server.curl("-z", "Thu, 31 Dec 2099 00:00:00 GMT", path="/docs/SUMMARY.md")
        assert status == 304
        status, _, _ = server.curl("-z", "Thu, 01 Jan 1970 00:00:00 GMT", path="/docs/SUMMARY.md")
        assert status == 200
        # A file of the same name as the time condition: curl uses its modification time.
        copy = os.path.join(tmp, "SUMMARY.md")
        with open(copy, "wb") as f:
            f.write(body)
        os.utime(copy, (4102358400, 4102358400))  # 2099-12-31
        status, _, _ = server.curl("-z", copy, path="/docs/SUMMARY.md")
        assert status == 304


def test_ranges_with_curl_and_the_others():
    whole = server.request("GET", "/big.bin")[2]
    css = server.request("GET", "/style.css")[2]
    for path, content in (("/big.bin", whole), ("/style.css", css)):
        total = len(content)
        for spec, first, last in (("0-99", 0, 99), ("100-", 100, total - 1),
                                  ("-100", total - 100, total - 1), ("10-99999999", 10, total - 1)):
            status, headers, body = server.curl("-r", spec, path=path)
            assert status == 206, (path, spec, status)
            assert headers["content-range"] == f"bytes {first}-{last}/{total}", headers
            assert body == content[first:last + 1], (path, spec)
        status, headers, _ = server.curl("-r", f"{total}-", path=path)
        assert status == 416 and headers["content-range"] == f"bytes */{total}", (path, status, headers)
    code, headers, body = raw_response(b"GET /big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=1000-1009\r\n\r\n")
    assert code == 206 and body == whole[1000:1010] and headers["accept-ranges"] == "bytes"
    status, headers, body = server.client_get("GET", "/style.css", headers={"Range": "bytes=-10"})
    assert status == 206 and body == css[-10:]
    # Several ranges at once are answered whole (a server may ignore Range).
    status, _, body = server.client_get("GET", "/style.css", headers={"Range": "bytes=0-1,5-6"})
    assert status == 200 and body == css
    # If-Range with a stale tag: the whole file, never a splice of two versions.
    status, _, body = server.client_get("GET", "/style.css",
                                        headers={"Range": "bytes=0-1", "If-Range": '"stale"'})
    assert status == 200 and body == css


def test_html_has_nosniff_and_a_content_security_policy():
    for get in (lambda: raw_response(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")[1],
                lambda: server.client_get("GET", "/")[1],
                lambda: server.curl(path="/")[1]):
        headers = get()
        assert headers["x-content-type-options"] == "nosniff"
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy, policy
    css_headers = server.curl(path="/style.css")[1]
    assert css_headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in css_headers


def test_serial_log_is_clean():
    json.loads(server.request("GET", "/api/stats")[2])
    vm.assert_no_fatal()
