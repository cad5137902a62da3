"""Whether a browser's request reached this server by a name it serves: the defence against DNS rebinding.

A page on a foreign site whose name is made to resolve to 127.0.0.1 can load a localhost-only app in the
visitor's browser: the browser then sends ``Host: evil.example:PORT`` (and ``Origin: http://evil.example:PORT``).
Streamlit refuses such a websocket when ``server.allowedHosts`` lists the names the app is served by
(.streamlit/config.toml lists the loopback ones); every page checks again here (``st.context.headers``), and
training without a secret is open only to a request that is local by every sign: the server listens on the
loopback interface alone, the Host and the Origin name this machine's loopback, and no proxy forwarded it.
No Streamlit here: the pages pass Streamlit's options and the request's headers in.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
WILDCARDS = {"", "0.0.0.0", "::"}
PROXY_HEADERS = ("x-forwarded-for", "x-forwarded-host", "forwarded", "x-real-ip")  # set by reverse proxies


def hostname(value: str | None) -> str | None:
    """The host name of a Host header (``name:port``, ``[::1]:8501``) or an Origin (``http://name:port``),
    lower-cased; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        parts = urlsplit(value if "://" in value else f"//{value}")
        _ = parts.port  # a port that is not a number makes the header unreadable
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or parts.path not in ("", "/"):
        return None
    return (parts.hostname or "").rstrip(".").lower() or None


def is_loopback(host: str | None) -> bool:
    """A name or address of this machine's loopback interface (127.0.0.0/8, ::1, localhost)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _get(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def served_names(address: str | None, allowed_hosts: Iterable[str] = (), public: str | None = None) -> set[str] | None:
    """The host names this server is reached by: the loopback names when it listens there, the address it is
    bound to, Streamlit's server.allowedHosts and browser.serverAddress. None when it listens on every
    interface and nothing says by which names (any name is then accepted; training needs the secret anyway)."""
    names = {n.strip().lower().rstrip(".") for n in allowed_hosts if n.strip()}
    if "*" in names:
        return None
    addr = (address or "").strip().lower().strip("[]")
    if addr and addr not in WILDCARDS and not is_loopback(addr):
        names.add(addr)
    elif not names and addr in WILDCARDS:
        return None
    else:  # the loopback interface alone, or every interface (the loopback one among them)
        names |= {"localhost", "127.0.0.1", "::1"}
    if public and public.strip():
        names.add(public.strip().lower())
    return names


def _matches(host: str, names: set[str]) -> bool:
    return any(host == n or (n.startswith("*.") and host.endswith(n[1:])) for n in names) or (
        is_loopback(host) and any(is_loopback(n) for n in names)
    )


def foreign_request(
    headers: Mapping[str, str], address: str | None, allowed_hosts: Iterable[str] = (), public: str | None = None
) -> str | None:
    """Why a request's Host or Origin is not a name this server is served by (DNS rebinding, or a page of
    another site), or None when it is (or when the server cannot tell: no Host header, every interface)."""
    names = served_names(address, allowed_hosts, public)
    if names is None:
        return None
    for header in ("host", "origin"):
        raw = _get(headers, header)
        if raw is None:
            continue
        host = hostname(raw)
        if host is None or not _matches(host, names):
            return (
                f"This page was requested as {raw!r}, a name this server does not serve (it answers to "
                f"{', '.join(sorted(names))}). A site that points its own name at this machine cannot use it."
            )
    return None


def is_local_request(headers: Mapping[str, str], address: str | None) -> bool:
    """Local by every sign: the server listens on the loopback interface alone, the request names the
    loopback in Host (and in Origin, when the browser sends one), and no proxy forwarded it."""
    if not is_loopback((address or "").strip()):
        return False
    if not is_loopback(hostname(_get(headers, "host"))):
        return False
    origin = _get(headers, "origin")
    if origin is not None and not is_loopback(hostname(origin)):
        return False
    return not any(_get(headers, h) for h in PROXY_HEADERS)
