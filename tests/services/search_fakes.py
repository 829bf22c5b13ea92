"""A local stand-in for the web, reached the way an outbound proxy is: for the web_search tool's tests.

ddgs sends every engine request to https:// URLs; through a proxy those become CONNECT tunnels.
This proxy answers CONNECT, ends TLS itself with a certificate for the requested host signed by a
CA made for the test (the service trusts it through AGENT_SEARCH_CA_BUNDLE), and serves the pages
it was given by (host, path); any other page is a 404, which ddgs treats as "no results there".

Not a test module (no test_ prefix) and uniquely named, so it cannot collide with the rest of tests/.
"""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from http_fakes import serving

# The shape html.duckduckgo.com/html/ answers with (the parts ddgs' duckduckgo engine reads: a
# div whose class holds "body", its h2 title, and the direct <a> child with link and snippet).
RESULT = """<div class="result results_links results_links_deep web-result">
  <div class="links_main links_deep result__body">
    <h2 class="result__title"><a rel="nofollow" class="result__a" href="{href}">{title}</a></h2>
    <a class="result__snippet" href="{href}">{body}</a>
  </div>
</div>"""


def duckduckgo_page(*results: tuple[str, str, str]) -> bytes:
    items = "\n".join(RESULT.format(title=t, href=h, body=b) for t, h, b in results)
    return f"<!DOCTYPE html><html><body><div id=\"links\" class=\"results\">{items}</div></body></html>".encode()


class Authority:
    """A throw-away CA and the leaf certificates it signs, as PEM files under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "search test CA")])
        self._cert = (_builder(name, name, self._key.public_key())
                      .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                      .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                     critical=True)
                      .sign(self._key, hashes.SHA256()))
        self.ca_file = directory / "search-ca.pem"
        self.ca_file.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._leaves: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def context_for(self, host: str) -> ssl.SSLContext:
        with self._lock:
            if host not in self._leaves:
                self._leaves[host] = self._leaf_context(host)
            return self._leaves[host]

    def _leaf_context(self, host: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (_builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]), self._cert.subject,
                         key.public_key())
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(self._key, hashes.SHA256()))
        pem = self.directory / f"leaf-{host}.pem"
        pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pem)
        context.set_alpn_protocols(["http/1.1"])  # one request per line of text: no HTTP/2 here
        return context


def _builder(subject: x509.Name, issuer: x509.Name, public_key: Any) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1)))


@dataclass
class SearchProxy:
    url: str
    ca_file: Path
    seen: list[tuple[str, str, str, bytes]] = field(default_factory=list)  # method, host, path, body


@contextmanager
def running_search_proxy(directory: Path, pages: dict[tuple[str, str], bytes]) -> Iterator[SearchProxy]:
    authority = Authority(directory)
    proxy = SearchProxy("", authority.ca_file)

    class Inside(BaseHTTPRequestHandler):
        """One request inside the tunnel, after TLS."""

        protocol_version = "HTTP/1.1"
        host = ""

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?", 1)[0]
            proxy.seen.append((self.command, self.host, path, body))
            page = pages.get((self.host, path))
            data = page if page is not None else b"not here"
            self.send_response(200 if page is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    class Tunnel(BaseHTTPRequestHandler):
        def do_CONNECT(self) -> None:  # noqa: N802
            host = self.path.rsplit(":", 1)[0]
            self.send_response(200, "Connection Established")
            self.end_headers()
            try:
                tls = authority.context_for(host).wrap_socket(self.connection, server_side=True)
            except (ssl.SSLError, OSError):
                return  # a client that refuses our certificate: nothing more to say
            handler = type("Inside", (Inside,), {"host": host})
            handler(tls, self.client_address, self.server)  # serves the tunnel's requests, then returns
            self.close_connection = True

        def log_message(self, *args: Any) -> None:
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Tunnel)) as url:
        proxy.url = url
        yield proxy
