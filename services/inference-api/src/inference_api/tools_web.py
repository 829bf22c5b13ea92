"""Tools that reach the network: web search (ddgs) and an HTTP fetch limited to allowed hosts.

The fetch never reaches the task's own surroundings: 169.254.0.0/16 holds the instance metadata
and the Fargate credentials endpoint (169.254.170.2), and loopback or private addresses reach
other services in the VPC. A host name is resolved here, every address it resolves to must be
public, and the connection goes to the address that was checked (so DNS cannot answer
differently a moment later). Redirects are followed by hand and each hop is checked again.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

from .tools_basic import ToolInputError

MAX_REDIRECTS = 3
READ_BYTES = 512 * 1024
USER_AGENT = "inference-api-agent/1"
Resolver = Callable[[str, int], list[str]]
AddressPolicy = Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address], bool]


def public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Only globally routable unicast addresses; link-local (169.254/16), loopback, private and
    the rest are refused. IPv4-mapped IPv6 addresses are judged by the IPv4 address they carry."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_link_local or ip.is_loopback or ip.is_private)


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ToolInputError(f"cannot resolve {host}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def http_fetch(
    args: dict[str, Any],
    allowed_hosts: tuple[str, ...],
    timeout: float,
    policy: AddressPolicy = public_address,
    resolver: Resolver = resolve,
) -> str:
    url = str(args.get("url", ""))
    for _ in range(MAX_REDIRECTS + 1):
        status, headers, body = _get_once(url, allowed_hosts, timeout, policy, resolver)
        if status in (301, 302, 303, 307, 308) and headers.get("location"):
            url = urljoin(url, headers["location"])
            continue
        kind = headers.get("content-type", "")
        return f"HTTP {status} {kind}\n{body.decode('utf-8', 'replace')}"
    raise ToolInputError(f"more than {MAX_REDIRECTS} redirects")


def checked_target(
    url: str, allowed_hosts: tuple[str, ...], policy: AddressPolicy, resolver: Resolver
) -> tuple[str, str, int, str]:
    """(scheme, host, port, address) for a URL the allow-list and the address policy both admit."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ToolInputError("url must be an http:// or https:// URL")
    if host not in allowed_hosts:
        raise ToolInputError(f"host {host[:80]} is not allowed (allowed: {', '.join(allowed_hosts) or 'none'})")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolver(host, port)
    if not addresses:
        raise ToolInputError(f"cannot resolve {host}")
    for address in addresses:
        if not policy(ipaddress.ip_address(address.split("%")[0])):
            raise ToolInputError(f"host {host} resolves to a non-public address; refused")
    return parts.scheme, host, port, addresses[0]


def _get_once(
    url: str, allowed_hosts: tuple[str, ...], timeout: float, policy: AddressPolicy, resolver: Resolver
) -> tuple[int, dict[str, str], bytes]:
    scheme, host, port, address = checked_target(url, allowed_hosts, policy, resolver)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = _PinnedHTTPS(host, address, port, timeout) if scheme == "https" else _PinnedHTTP(address, port, timeout)
    try:
        conn.request("GET", path, headers={"Host": parts.netloc, "User-Agent": USER_AGENT, "Accept": "*/*"})
        response = conn.getresponse()
        body = response.read(READ_BYTES)
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    except (OSError, http.client.HTTPException) as exc:
        raise ToolInputError(f"fetch failed: {type(exc).__name__}") from None
    finally:
        conn.close()


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, address: str, port: int, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """Connects to the checked address; the certificate is still verified for the host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._server_name = host

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)  # type: ignore[attr-defined]


def web_search(args: dict[str, Any], timeout: float, proxy: str | None = None, ca_bundle: str | None = None) -> str:
    """Top results from ddgs (the metasearch library the original system used) as short lines.

    `proxy` (AGENT_SEARCH_PROXY) sends every engine request through an outbound proxy, and
    `ca_bundle` (AGENT_SEARCH_CA_BUNDLE) is the PEM file certificates are verified against, for a
    proxy that ends TLS itself; both unset by default and in every template. ddgs exposes no
    other seam (its engines' URLs are class constants), so the tests use these two as well.
    """
    query = str(args.get("query", "")).strip()
    if not query or len(query) > 400:
        raise ToolInputError("query must be 1 to 400 characters")
    from ddgs import DDGS  # heavy: imported on first use

    client = DDGS(proxy=proxy, timeout=max(1, int(timeout)), verify=ca_bundle or True)
    results = client.text(query, max_results=int(args.get("max_results") or 5))
    lines = [f"- {r.get('title', '')} <{r.get('href', '')}>: {r.get('body', '')}" for r in results]
    return "\n".join(lines) or "no results"


SPECS: dict[str, dict[str, Any]] = {
    "web_search": {
        "description": "Search the web; returns titles, links and snippets of the top results.",
        "properties": {"query": {"type": "string"}, "max_results": {"type": "integer", "minimum": 1, "maximum": 10}},
        "required": ["query"],
    },
    "http_fetch": {
        "description": "GET a web page or API by URL (only on the allowed hosts) and return its text.",
        "properties": {"url": {"type": "string"}},
        "required": ["url"],
    },
}
