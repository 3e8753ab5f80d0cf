"""Checks of chapter 10's exercises (docs/10-http.md)."""

import json

from kit import NotYet, boot, exercise, http_get


def stats(vm):
    """The /api/stats document."""
    status, _, body = http_get(vm, "/api/stats")
    if status != 200:
        raise NotYet(f"/api/stats answered {status}")
    return json.loads(body)


@exercise("10.1")
def a_route_of_your_own():
    """GET /api/uptime answers {"uptime_ms": N} as JSON."""
    with boot() as vm:
        before = stats(vm)["uptime_ms"]
        status, headers, body = http_get(vm, "/api/uptime")
        after = stats(vm)["uptime_ms"]
    if status != 200:
        raise NotYet(f"GET /api/uptime answered {status}, not 200")
    if not headers.get("content-type", "").startswith("application/json"):
        raise NotYet(f"GET /api/uptime has Content-Type {headers.get('content-type')!r}, not application/json")
    try:
        uptime = json.loads(body)["uptime_ms"]
    except (ValueError, KeyError, TypeError):
        raise NotYet(f"GET /api/uptime sent {body[:200]!r}, not a JSON object with uptime_ms") from None
    if not isinstance(uptime, int) or not before <= uptime <= after:
        raise NotYet(f"uptime_ms {uptime!r} is not between /api/stats's {before} before and {after} after")


@exercise("10.2")
def count_the_redirections_and_the_304s():
    """/api/stats counts 3xx answers in http.responses_3xx, not as 5xx."""
    with boot() as vm:
        status, headers, _ = http_get(vm, "/style.css")
        if status != 200 or "etag" not in headers:
            raise NotYet(f"GET /style.css answered {status} with headers {headers}")
        import urllib.request
        for _ in range(3):
            request = urllib.request.Request(f"http://127.0.0.1:{vm.port}/style.css",
                                             headers={"If-None-Match": headers["etag"]})
            try:
                with urllib.request.urlopen(request, timeout=20) as reply:
                    raise NotYet(f"a request with the file's ETag was answered {reply.status}, not 304")
            except urllib.error.HTTPError as error:
                if error.code != 304:
                    raise NotYet(f"a request with the file's ETag was answered {error.code}, not 304") from None
        http = stats(vm)["http"]
    if "responses_3xx" not in http:
        raise NotYet("the http object of /api/stats has no responses_3xx")
    if http["responses_3xx"] != 3 or http["responses_5xx"] != 0:
        raise NotYet(f"after three 304s, responses_3xx is {http['responses_3xx']} and responses_5xx "
                     f"{http['responses_5xx']} (wanted 3 and 0)")
