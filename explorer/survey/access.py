"""Who may design surveys and see results, and the links judges get.

The admin secret comes from $TEXTVAE_SURVEY_ADMIN or ``survey_admin_secret`` in .streamlit/secrets.toml;
an optional read-only secret ($TEXTVAE_SURVEY_VIEWER / ``survey_viewer_secret``) opens the results page
only. With no admin secret configured, the admin pages stay locked: an open admin page would let anyone
see which model wrote which text.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ADMIN_ENV, VIEWER_ENV = "TEXTVAE_SURVEY_ADMIN", "TEXTVAE_SURVEY_VIEWER"
ADMIN_KEY, VIEWER_KEY = "survey_admin_secret", "survey_viewer_secret"
ROLES = ("admin", "viewer")


def configured(role: str, secrets: Mapping[str, Any] | None = None) -> str | None:
    """The secret for ``role`` from the environment, else from Streamlit secrets; None if unset."""
    env, key = (ADMIN_ENV, ADMIN_KEY) if role == "admin" else (VIEWER_ENV, VIEWER_KEY)
    value = os.environ.get(env)
    if not value and secrets is not None:
        try:
            value = secrets.get(key)
        except Exception:  # st.secrets raises when no secrets.toml exists: same as unset
            value = None
    return str(value) if value else None


def check(given: str, role: str, secrets: Mapping[str, Any] | None = None) -> bool:
    """True if ``given`` is the secret of ``role`` (the admin secret also opens viewer pages)."""
    if not given:
        return False
    roles = ("admin",) if role == "admin" else ("admin", "viewer")
    for r in roles:
        want = configured(r, secrets)
        if want and hmac.compare_digest(given.encode(), want.encode()):
            return True
    return False


HOW_TO = (
    f"Set the admin secret in the environment (`{ADMIN_ENV}=…`) or in `.streamlit/secrets.toml` "
    f'(`{ADMIN_KEY} = "…"`), then restart the app.'
)


def judge_link(
    survey_token: str, app_url: str | None = None, judge_token: str | None = None, base_path: str = ""
) -> str:
    """The link a judge opens: the app's root with ?survey=<code> (relative when the app's URL is unknown);
    with ``judge_token``, the personal link that brings one judge back to their own items.

    ``app_url`` (st.context.url) may end with the admin page's own path; only its scheme and host are kept, and
    ``base_path`` (Streamlit's server.baseUrlPath) is put back, so the link always lands on the judge page."""
    query = urlencode({"survey": survey_token, **({"judge": judge_token} if judge_token else {})})
    root = "/" + "/".join(p for p in base_path.split("/") if p)
    root = root if root.endswith("/") else root + "/"
    if not app_url:
        return f"{root}?{query}"
    parts = urlsplit(app_url)
    return urlunsplit((parts.scheme, parts.netloc, root, query, ""))


PROXY_ENV = "TEXTVAE_BEHIND_PROXY"  # set when a reverse proxy fronts the app: the client is X-Forwarded-For's last hop


def client_address(ip: str | None, headers: Mapping[str, str]) -> str | None:
    """The address a request came from: Streamlit's, or behind a proxy (``$TEXTVAE_BEHIND_PROXY``) the hop the
    proxy added last to X-Forwarded-For (earlier hops are whatever the client wrote, so never trusted)."""
    if os.environ.get(PROXY_ENV):
        forwarded = next((v for k, v in headers.items() if k.lower() == "x-forwarded-for"), "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-1]
    return ip if isinstance(ip, str) and ip else None


def client_key(address: str | None, survey_token: str, secrets: Mapping[str, Any] | None = None) -> str | None:
    """A keyed hash of a client's address for one survey (what the join cap counts): the database never holds
    an address, and the same address gives unrelated keys in two surveys."""
    if not isinstance(address, str) or not address:
        return None
    key = (configured("admin", secrets) or "") + "\0" + survey_token
    return hmac.new(key.encode(), address.encode(), hashlib.sha256).hexdigest()[:32]
