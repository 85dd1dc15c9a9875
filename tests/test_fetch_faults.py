"""A local server that misbehaves on purpose, one fault per policy, checked by the real `policywatch check`.

Every failure must be classified (never an "internal" error), never replace or delete the stored version,
be reported when it begins and when it ends, and transient faults must be retried within the run.
"""

import dataclasses
import gzip
import http.server
import json
import socket
import ssl
import struct
import threading
import time

import pytest

from helpers import FIXTURES, Route, run_cli, write_config
from policywatch.config import PolicySpec
from policywatch.fetch import Fetcher, FetchError
from test_cli_check import V1, run_in_process

FAST = ("--retries", "1", "--backoff", "0.05", "--workers", "32", "--per-host", "16")


def start(handler, status, headers=(), content_type="text/html; charset=utf-8"):
    """The status line and headers, for a handler that writes (or withholds) the body its own way."""
    handler.send_response(status)
    if content_type:
        handler.send_header("Content-Type", content_type)
    for name, value in headers:
        handler.send_header(name, value)
    handler.end_headers()


def send(handler, status, body=b"", headers=(), content_type="text/html; charset=utf-8"):
    if not any(name.lower() == "content-length" for name, _ in headers):
        headers = [*headers, ("Content-Length", str(len(body)))]
    start(handler, status, headers, content_type)
    handler.wfile.write(body)


def reset(handler):
    """Abort the connection with a TCP RST before answering."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.connection.close()


def failing_first(times, fault, good=V1.encode()):
    """A page that suffers `fault` on its first `times` requests of each run, then serves `good`."""
    calls = {"n": 0}

    def handler(request):
        calls["n"] += 1
        if calls["n"] <= times:
            fault(request)
        else:
            send(request, 200, good)

    return handler


def slow_headers(handler):
    time.sleep(2)
    try:
        send(handler, 200, V1.encode())
    except OSError:
        pass  # the client gave up, as it should


def slow_drip(handler):
    body = V1.encode()
    try:
        start(handler, 200, [("Content-Length", str(len(body)))])
        for index in range(0, 60):
            handler.wfile.write(body[index : index + 1])
            handler.wfile.flush()
            time.sleep(0.05)
    except OSError:
        pass


DRIPS_CUT = []  # one entry per dripping response the client hung up on


def drip_headers(handler):
    """Headers a byte at a time: no single read ever waits long, so only a deadline on the whole attempt stops it."""
    try:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        for _ in range(50):
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(0.1)
        body = V1.encode()
        handler.wfile.write(b"\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    except OSError:
        DRIPS_CUT.append(handler.path)
    handler.close_connection = True


def truncated(handler):
    send(handler, 200, V1.encode()[:300], [("Content-Length", "100000")])
    handler.close_connection = True


def chunked_endless(handler):
    start(handler, 200, [("Transfer-Encoding", "chunked")])
    chunk = b"<p>" + b"lorem ipsum dolor sit amet " * 2000 + b"</p>"
    try:
        for _ in range(1000):  # ~54 MB if nobody stops reading
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    except OSError:
        pass
    handler.close_connection = True


def redirect_loop(handler):
    last = handler.path.rsplit("/", 1)[-1]
    number = int(last) if last.isdigit() else 0
    send(handler, 302, headers=[("Location", f"/loop/{number + 1}")])


GZIP_BOMB = gzip.compress(b"\0" * (60 * 1024 * 1024), compresslevel=9)  # 60 MB of zeros in ~60 KB
CAPTCHA = (FIXTURES / "pages" / "captcha.html").read_bytes()
CLOUDFLARE = b"<html><head><title>Just a moment...</title></head><body>Checking your browser before accessing.</body></html>"
# The policy body gone but for its title and one sentence: most likely a broken page, not a new policy.
SHRUNK = b"<html><body><main><h1>Acme Privacy Policy</h1><p>We collect information you give us.</p></main></body></html>"

# Every fault: (route or handler, expected error kind; None when a retry within the run must succeed).
FAULTS = {
    "slow-headers": (slow_headers, "network"),
    "slow-drip": (slow_drip, "network"),
    "drip-headers": (drip_headers, "network"),
    "reset-always": (reset, "network"),
    "reset-once": (failing_first(1, reset), None),
    "server-error": (Route(b"oops", status=500, content_type="text/plain"), "http-500"),
    "unavailable-once": (failing_first(1, lambda h: send(h, 503, b"busy", content_type="text/plain")), None),
    "rate-limited-once": (failing_first(1, lambda h: send(h, 429, b"slow down", [("Retry-After", "1")])), None),
    "rate-limited-long": (Route(b"slow down", status=429, headers={"Retry-After": "3600"}), "http-429"),
    "gone": (Route(b"gone", status=404), "http-404"),
    "captcha-200": (Route(CAPTCHA), "blocked"),
    "captcha-403": (Route(CAPTCHA, status=403), "blocked"),
    "cloudflare-503": (Route(CLOUDFLARE, status=503), "blocked"),
    "gzip-bomb": (Route(GZIP_BOMB, headers={"Content-Encoding": "gzip"}, etag=False), "too-large"),
    "broken-gzip": (Route(b"this is not gzip at all" * 10, headers={"Content-Encoding": "gzip"}, etag=False), "network"),
    "redirect-loop": (redirect_loop, "network"),
    "redirect-to-ftp": (Route(status=302, headers={"Location": "ftp://127.0.0.1/privacy"}), "network"),
    "huge-declared": (Route(b"<p>" + b"x" * (11 * 1024 * 1024) + b"</p>"), "too-large"),
    "huge-chunked": (chunked_endless, "too-large"),
    "truncated": (truncated, "network"),
    "empty-body": (Route(b""), "empty"),
    "empty-page": (Route((FIXTURES / "pages" / "empty.html").read_bytes()), "empty"),
    "cookie-wall": (Route((FIXTURES / "pages" / "cookie_wall.html").read_bytes()), "empty"),  # no <main>: select misses
    "image": (Route(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, content_type="image/png"), "not-a-policy"),
    "octet-binary": (Route(bytes(range(256)) * 40, content_type="application/octet-stream"), "not-a-policy"),
    "octet-html": (Route(V1.encode(), content_type="application/octet-stream"), None),
    "binary-as-html": (Route(bytes(range(256)) * 40), "not-a-policy"),
    "shrunk": (Route(SHRUNK), "suspicious"),
}


SLOW = {"slow-headers", "slow-drip", "drip-headers", "truncated"}


def serve_fault(server, name, fault):
    if isinstance(fault, Route):
        server.routes[f"/{name}"] = fault
    else:
        server.routes[f"/{name}"] = Route(handler=fault)
    if name == "redirect-loop":
        for number in range(1, 40):
            server.routes[f"/loop/{number}"] = Route(handler=redirect_loop)


@pytest.fixture
def faulty_store(tmp_path, server):
    """A config of one policy per fault, each with a baseline recorded from the good page."""
    policies = [{"id": name, "url": server.page(f"/{name}", V1), "select": "main"} for name in FAULTS]
    for policy in policies:
        if policy["id"] in SLOW:
            policy["timeout"] = 1
    config = write_config(tmp_path / "policies.yaml", policies)
    first = run_in_process("check", "-c", str(config), "-f", "json", *FAST)
    assert first.returncode == 0, first.stderr
    assert {p["status"] for p in json.loads(first.stdout)["policies"]} == {"new"}
    latest = {name: (tmp_path / "snapshots" / name / "latest.md").read_text() for name in FAULTS}
    return config, latest


def test_every_fault_is_classified_retried_and_never_replaces_history(tmp_path, server, faulty_store):
    config, latest = faulty_store
    for name, (fault, _) in FAULTS.items():
        serve_fault(server, name, fault)
    server.requests.clear()

    result = run_cli("check", "-c", str(config), "-f", "json", *FAST)
    assert result.returncode == 3, result.stderr
    policies = {p["id"]: p for p in json.loads(result.stdout)["policies"]}
    outcome = {name: (policies[name]["error"] or {}).get("kind") for name in FAULTS}
    assert outcome == {name: expected for name, (_, expected) in FAULTS.items()}
    for name, (_, expected) in FAULTS.items():
        policy = policies[name]
        if expected is None:
            assert policy["status"] == "unchanged", name
            continue
        assert policy["status"] == ("suspicious" if expected == "suspicious" else "error"), name
        assert policy["error"]["hint"] and policy["error"]["new"], name
        assert "bug" not in policy["error"]["hint"], (name, policy["error"])
        # The failed capture never replaced or added to the stored history.
        assert (tmp_path / "snapshots" / name / "latest.md").read_text() == latest[name], name
        assert len(list((tmp_path / "snapshots" / name / "versions").iterdir())) == 1, name

    requests_to = lambda path: sum(1 for requested, _ in server.requests if requested == path)  # noqa: E731
    assert requests_to("/reset-always") == 2  # one retry (--retries 1)
    assert requests_to("/server-error") == 1  # a 500 is not transient: no retry
    assert requests_to("/rate-limited-long") == 1  # Retry-After beyond a minute: give up at once
    assert requests_to("/cloudflare-503") == 1  # a bot wall is not retried
    assert requests_to("/slow-drip") == 2  # a dripping body hits the whole-download deadline and is retried
    message = {name: policies[name]["error"]["message"] for name, (_, kind) in FAULTS.items() if kind}
    assert message["slow-drip"] == "the page did not arrive within 1 seconds"
    assert message["slow-headers"] == "no answer within 1 seconds"
    assert message["drip-headers"] == "no answer within 1 seconds"
    assert requests_to("/drip-headers") == 2  # cut off at the deadline, then retried once
    # The client hung up mid-headers instead of waiting them out; the server notices at its next byte (0.1 s),
    # which may come after the check has ended.
    noticed_by = time.monotonic() + 10
    while len(DRIPS_CUT) < 2 and time.monotonic() < noticed_by:
        time.sleep(0.05)
    assert DRIPS_CUT == ["/drip-headers"] * 2
    assert message["reset-always"] == "Connection reset by peer"
    assert message["truncated"] == "the connection closed after 300 bytes of the body, 99700 more were expected"
    assert message["cookie-wall"] == "the selector 'main' matched nothing on the page"
    assert message["broken-gzip"].startswith("the body could not be decompressed (") and "header check" in message["broken-gzip"]
    assert "redirects" in policies["redirect-loop"]["error"]["message"]
    assert "decompression" in policies["gzip-bomb"]["error"]["message"]
    assert (tmp_path / "snapshots" / "shrunk" / "suspicious").is_dir()

    # The same errors on the next run are not reported as new, but the exit code still says something failed.
    again = run_in_process("check", "-c", str(config), "-f", "json", *FAST)
    assert again.returncode == 3
    repeated = [p for p in json.loads(again.stdout)["policies"] if p["error"]]
    assert len(repeated) == sum(1 for _, kind in FAULTS.values() if kind)
    assert not [p["id"] for p in repeated if p["error"]["new"]]

    # Every page recovers: each former failure is reported once as a recovery.
    for name in FAULTS:
        server.page(f"/{name}", V1)
    recovered = run_in_process("check", "-c", str(config), "-f", "json", *FAST)
    assert recovered.returncode == 0, recovered.stderr
    back = {p["id"]: p for p in json.loads(recovered.stdout)["policies"]}
    assert {name for name, p in back.items() if p["recovered_from"]} == {name for name, (_, kind) in FAULTS.items() if kind}
    assert all(p["status"] == "unchanged" for p in back.values())


def test_max_bytes_per_policy_and_a_declared_size_refused_before_download(tmp_path, server):
    url = server.page("/privacy", V1)
    config = write_config(tmp_path / "policies.yaml", [{"id": "small", "url": url, "max_bytes": 500}, {"id": "big", "url": url}])
    result = run_cli("check", "-c", str(config), "-f", "json", *FAST)
    policies = {p["id"]: p for p in json.loads(result.stdout)["policies"]}
    assert policies["small"]["error"]["kind"] == "too-large"
    assert "500-byte limit" in policies["small"]["error"]["message"]
    assert "max_bytes" in policies["small"]["error"]["hint"]
    assert policies["big"]["status"] == "new"
    assert result.returncode == 3


ACCENTED = "Nous collectons des données personnelles ; vos préférences sont protégées. Ça reste chez nous à Genève."


def page_in(encoding, meta=""):
    return (
        f"<html><head>{meta}<title>Politique</title></head><body><main><h1>Confidentialité</h1>"
        f"<p>{ACCENTED}</p><p>Nous ne vendons pas vos données à des tiers, jamais.</p></main></body></html>"
    ).encode(encoding)


ENCODINGS = {
    "header": (page_in("cp1252"), "text/html; charset=windows-1252"),
    "meta": (page_in("cp1252", '<meta charset="windows-1252">'), "text/html"),
    "undeclared": (page_in("cp1252"), "text/html"),  # detected
    "mislabelled": (page_in("utf-8"), "text/html; charset=iso-8859-1"),  # valid UTF-8 wins over a wrong label
    "utf-16": (page_in("utf-16"), "text/html; charset=utf-16"),
    "bom-bogus": (b"\xef\xbb\xbf" + page_in("utf-8"), "text/html; charset=bogus-charset"),
}


def test_encodings_declared_meta_detected_never_a_crash(tmp_path, server):
    policies = [
        {"id": name, "url": server.page(f"/{name}", body, content_type=content_type)} for name, (body, content_type) in ENCODINGS.items()
    ]
    result = run_cli("check", "-c", str(write_config(tmp_path / "policies.yaml", policies)), "-f", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ENCODINGS:
        text = (tmp_path / "snapshots" / name / "latest.md").read_text(encoding="utf-8")
        assert "Nous ne vendons pas vos" in text, name
        assert "données personnelles" in text and "à Genève" in text, (name, text)


def test_suspicious_capture_is_kept_aside_once_until_accepted(tmp_path, server):
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": server.page("/privacy", V1), "select": "main"}])
    assert run_in_process("check", "-c", str(config)).returncode == 0
    server.page("/privacy", SHRUNK)
    first = json.loads(run_cli("check", "-c", str(config), "-f", "json").stdout)["policies"][0]
    assert first["status"] == "suspicious" and first["error"]["new"]
    # The same broken page with a new token in its markup: the same text, so the same capture.
    server.page("/privacy", SHRUNK.replace(b"<body>", b'<body><script>var token = "b81f";</script>'))
    again = json.loads(run_in_process("check", "-c", str(config), "-f", "json").stdout)["policies"][0]
    assert again["set_aside"] == first["set_aside"] and not again["error"]["new"]  # kept once, reported once
    assert len(list((tmp_path / "snapshots" / "acme" / "suspicious").iterdir())) == 1

    accepted = run_cli("check", "-c", str(config), "-f", "json", "--accept", "acme", "--fail-on", "none")
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout)["policies"][0]["status"] == "changed"
    assert list((tmp_path / "snapshots" / "acme" / "suspicious").iterdir()) == []
    assert len(list((tmp_path / "snapshots" / "acme" / "versions").iterdir())) == 2
    assert run_in_process("check", "-c", str(config)).returncode == 0
    assert run_in_process("verify", "-c", str(config)).returncode == 0


def spec_for(url, **fields):
    return PolicySpec(id="acme", url=url, name="acme", **fields)


def closed_port_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/privacy"


class RecordingFetcher(Fetcher):
    """A real fetcher that records its waits between attempts instead of waiting."""

    def __init__(self, **options):
        super().__init__(**options)
        self.waits = []

    def _interrupted_during(self, seconds):
        self.waits.append(seconds)
        return False


def test_backoff_doubles_between_attempts_and_retry_after_wins(server):
    with RecordingFetcher(retries=3, backoff=0.5) as fetcher:
        slept = fetcher.waits
        url = server.page("/busy", "busy", status=503, content_type="text/plain")
        with pytest.raises(FetchError) as failed:
            fetcher.fetch(spec_for(url))
        assert failed.value.kind == "http-503"
        assert slept == [0.5, 1.0, 2.0] and len(server.requests) == 4

        slept.clear()
        server.routes["/limited"] = Route(handler=failing_first(1, lambda h: send(h, 429, b"later", [("Retry-After", "7")])))
        assert fetcher.fetch(spec_for(server.url("/limited"))).status == 200
        assert slept == [7.0]  # the server's Retry-After, not the backoff

        slept.clear()
        past = "Wed, 21 Oct 2015 07:28:00 GMT"
        server.routes["/dated"] = Route(handler=failing_first(1, lambda h: send(h, 503, b"later", [("Retry-After", past)])))
        assert fetcher.fetch(spec_for(server.url("/dated"))).status == 200
        assert slept == [0.0]  # an HTTP date already past: retry at once

        slept.clear()
        with pytest.raises(FetchError) as refused:
            fetcher.fetch(spec_for(closed_port_url()))
        assert refused.value.kind == "network" and refused.value.message == "cannot connect (Connection refused)"
        assert slept == [0.5, 1.0, 2.0]  # connection errors are transient too


# A self-signed certificate for 127.0.0.1, valid until 2126 (made with `openssl req -x509 … -days 36500`).
TEST_CERT = """-----BEGIN CERTIFICATE-----
MIIBxjCCAWugAwIBAgIUXN4h7F7Uz5ZaRgSXiaB80S36WgYwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQcG9saWN5d2F0Y2ggdGVzdDAgFw0yNjExMjUxMDQzMDJaGA8y
MTI2MTEwMTEwNDMwMlowGzEZMBcGA1UEAwwQcG9saWN5d2F0Y2ggdGVzdDBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABJ1M5f0L0zxI2py+lCyhrrtvo74Qv/m8ec+Y
jAbZ0NRK1TK8qkockR4XaaHmcLBQz7nCFFeACPODMr6+UOSJxaujgYowgYcwHQYD
VR0OBBYEFNEtUowYRObuF0Em9TNSUUPH4h+6MB8GA1UdIwQYMBaAFNEtUowYRObu
F0Em9TNSUUPH4h+6MA8GA1UdEwEB/wQFMAMBAf8wDwYDVR0RBAgwBocEfwAAATAO
BgNVHQ8BAf8EBAMCAoQwEwYDVR0lBAwwCgYIKwYBBQUHAwEwCgYIKoZIzj0EAwID
SQAwRgIhAI3fj9gvfc4iNMrReGTGwP1L88UgNkxZYN5wLkgY8qL/AiEA1IwfkQSj
+adxFEElvorc6HFrQPdqeXcrJhIndGol/WM=
-----END CERTIFICATE-----
"""
TEST_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4Y+Zu/NaoCwDF+jf
iHOqES1EFPp2VAfULEuCVR4Eb8ehRANCAASdTOX9C9M8SNqcvpQsoa67b6O+EL/5
vHnPmIwG2dDUStUyvKpKHJEeF2mh5nCwUM+5whRXgAjzgzK+vlDkicWr
-----END PRIVATE KEY-----
"""


class _PolicyPage(http.server.BaseHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def do_GET(self):  # noqa: N802 - stdlib name
        send(self, 200, V1.encode())


@pytest.fixture
def tls_site(tmp_path):
    """A real HTTPS server on 127.0.0.1 whose certificate no system trusts; returns (url, its cert file)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text(TEST_CERT)
    key.write_text(TEST_KEY)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PolicyPage)
    site.daemon_threads = True
    site.socket = context.wrap_socket(site.socket, server_side=True)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{site.server_address[1]}/privacy", cert
    site.shutdown()
    site.server_close()


def test_tls_certificates_are_verified_by_default_and_a_trusted_ca_is_accepted(tmp_path, tls_site):
    url, cert = tls_site
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url, "select": "main"}])
    untrusted = {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": ""}
    refused = run_cli("check", "-c", str(config), "-f", "json", *FAST, env=untrusted)
    assert refused.returncode == 3, refused.stderr
    (policy,) = json.loads(refused.stdout)["policies"]
    assert policy["error"]["kind"] == "network" and policy["error"]["message"].startswith("TLS error:"), policy
    assert "certificate" in policy["error"]["hint"]
    assert not (tmp_path / "snapshots" / "acme" / "versions").exists()

    # The same server, its certificate trusted the standard way (a private CA bundle): the policy is read.
    trusted = run_cli("check", "-c", str(config), "-f", "json", *FAST, env={"REQUESTS_CA_BUNDLE": str(cert)})
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert json.loads(trusted.stdout)["policies"][0]["status"] == "new"


def sectioned(sections, paragraphs):
    """A policy of `sections` titled parts of `paragraphs` sentences each."""
    parts = "".join(
        f"<h2>Part {s}</h2>" + "".join(f"<p>In part {s} we explain rule {n} on how we keep records of kind {n}.</p>" for n in range(paragraphs))
        for s in range(sections)
    )
    return f"<html><body><main><h1>Acme Privacy Policy</h1>{parts}</main></body></html>"


def test_shrink_limit_is_configurable_and_losing_most_sections_is_suspicious(tmp_path, server):
    full = sectioned(6, 10)
    cases = {  # policy id: (its next page, extra config, expected status)
        "shrunk": (sectioned(6, 3), {}, "suspicious"),  # 70% shorter, default limit 0.5
        "shrunk-tolerated": (sectioned(6, 3), {"shrink_limit": 0.8}, "changed"),
        "sections-lost": (sectioned(2, 30), {}, "suspicious"),  # as long as before, 7 headings down to 3
        "grown": (sectioned(7, 10), {}, "changed"),
    }
    policies = [{"id": name, "url": server.page(f"/{name}", full), "select": "main", **extra} for name, (_, extra, _) in cases.items()]
    config = write_config(tmp_path / "policies.yaml", policies)
    assert run_in_process("check", "-c", str(config)).returncode == 0
    for name, (page, _, _) in cases.items():
        server.page(f"/{name}", page)

    result = run_cli("check", "-c", str(config), "-f", "json", "--fail-on", "none")
    assert result.returncode == 3, result.stderr
    policies = {p["id"]: p for p in json.loads(result.stdout)["policies"]}
    assert {name: p["status"] for name, p in policies.items()} == {name: status for name, (_, _, status) in cases.items()}
    assert "the text shrank from" in policies["shrunk"]["error"]["message"]
    assert policies["sections-lost"]["error"]["message"].startswith("the number of sections fell from 7 to 3")
    for name in ("shrunk", "sections-lost"):
        assert len(list((tmp_path / "snapshots" / name / "versions").iterdir())) == 1
        assert len(list((tmp_path / "snapshots" / name / "suspicious").iterdir())) == 1


def test_a_page_that_keeps_failing_is_asked_conditionally_and_read_again_only_under_new_settings(tmp_path, server):
    wall = V1.replace("<main", "<article").replace("</main>", "</article>")  # `select: main` finds nothing
    url = server.page("/privacy", wall)
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url, "select": "main"}])
    first = run_in_process("check", "-c", str(config), "-f", "json")
    assert first.returncode == 3 and json.loads(first.stdout)["policies"][0]["error"]["kind"] == "empty"
    tag = json.loads((tmp_path / "snapshots" / "acme" / ".check.json").read_text())["failed_body"]["etag"]

    # The same body again: the run asks with its ETag, gets a 304 and reports the same error, quietly.
    server.requests.clear()
    again = run_in_process("check", "-c", str(config), "-f", "json")
    assert again.returncode == 3
    assert server.requests[0][1].get("If-None-Match") == tag
    policy = json.loads(again.stdout)["policies"][0]
    assert policy["error"] == {**json.loads(first.stdout)["policies"][0]["error"], "new": False}

    # A server that ignores conditional requests resends the body: its hash settles it just the same.
    server.page("/privacy", wall, etag=False)
    assert run_in_process("check", "-c", str(config)).returncode == 3

    # New selectors may well find the text: the body is fetched whole and read again.
    write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url, "select": "article"}])
    server.page("/privacy", wall)
    server.requests.clear()
    fixed = run_in_process("check", "-c", str(config), "-f", "json")
    assert "If-None-Match" not in server.requests[0][1]
    assert fixed.returncode == 0 and json.loads(fixed.stdout)["policies"][0]["status"] == "new"
    assert json.loads((tmp_path / "snapshots" / "acme" / ".check.json").read_text())["failed_body"] is None

    # An empty body (the corpus has dozens) is remembered like any other.
    server.page("/privacy", b"")
    assert run_in_process("check", "-c", str(config)).returncode == 3
    server.requests.clear()
    assert run_in_process("check", "-c", str(config)).returncode == 3
    empty_tag = json.loads((tmp_path / "snapshots" / "acme" / ".check.json").read_text())["failed_body"]["etag"]
    assert empty_tag and server.requests[0][1].get("If-None-Match") == empty_tag


def test_one_deadline_thread_runs_due_actions_in_order_and_never_a_cancelled_one():
    from policywatch.fetch import _Watchdog

    def deadline_threads():
        return sum(1 for thread in threading.enumerate() if thread.name == "fetch-deadlines")

    before = deadline_threads()
    watchdog, fired, done = _Watchdog(), [], threading.Event()
    now = time.monotonic()
    watchdog.watch(now + 0.2, lambda: (fired.append("late"), done.set()))
    # Each of these is due before what the thread sleeps until: it must wake up for them.
    cancelled = watchdog.watch(now + 0.05, lambda: fired.append("cancelled"))
    watchdog.watch(now + 0.1, lambda: fired.append("early"))
    watchdog.cancel(cancelled)
    assert deadline_threads() == before + 1  # one thread for all three
    assert done.wait(5)
    assert fired == ["early", "late"]


def test_the_proxy_of_the_environment_is_used_and_no_proxy_bypasses_it(tmp_path, server):
    # The test server plays the proxy: a request through a proxy names the whole URL.
    server.page("http://policies.example/privacy", V1)
    server.page("/direct", V1)
    config = write_config(
        tmp_path / "policies.yaml",
        [{"id": "proxied", "url": "http://policies.example/privacy", "select": "main"},
         {"id": "direct", "url": server.url("/direct"), "select": "main"}],
    )  # fmt: skip
    proxy = server.url("")
    env = {"HTTP_PROXY": proxy, "http_proxy": proxy, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    result = run_cli("check", "-c", str(config), "-f", "json", env=env)
    assert result.returncode == 0, result.stderr
    assert {p["id"]: p["status"] for p in json.loads(result.stdout)["policies"]} == {"proxied": "new", "direct": "new"}
    assert sorted(path for path, _ in server.requests) == ["/direct", "http://policies.example/privacy"]


def test_a_remembered_failure_holds_only_under_the_settings_it_happened_under(tmp_path, monkeypatch):
    from policywatch import core
    from policywatch.store import FailedBody, PolicyState, Store

    spec = PolicySpec(id="acme", url="https://acme.example/privacy", name="Acme", select=("main",))
    failed = FailedBody("f00d", core.body_settings(spec), "empty", "too little text", "hint", etag='"e1"')
    store = Store(tmp_path)
    store.save_state("acme", PolicyState(status="error", error_kind="empty", failed_body=failed))
    assert core.Known.read(store, spec).failed == failed
    assert core.Known.read(store, spec).validators.etag == '"e1"'  # asked with the failing body's ETag
    assert core.Known.read(store, dataclasses.replace(spec, select=("article",))).failed is None
    monkeypatch.setattr(core, "NORMALIZER_VERSION", core.NORMALIZER_VERSION + ".1")  # an upgraded normalizer
    assert core.Known.read(store, spec).failed is None
