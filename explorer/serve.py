"""How ``bash scripts/run_app.sh`` starts the explorer: ``streamlit run app.py`` on this machine alone.

By default the server listens on the loopback interface (``--server.address 127.0.0.1``): a browser on this
machine that opens http://localhost:8501 may train without a secret (explorer.gate), and nobody else can
reach the app. Serving it to others is asked for in so many words, with ``TEXTVAE_ADDRESS=ADDR`` (``0.0.0.0``:
every interface) or ``--server.address ADDR``, or by fronting it with a reverse proxy (``TEXTVAE_BEHIND_PROXY``),
and needs the admin secret first ($TEXTVAE_SURVEY_ADMIN or ``survey_admin_secret`` in .streamlit/secrets.toml):
without it the app is not started (docs/DEPLOYMENT.md). No Streamlit here: this only builds the command.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from .gate import is_loopback

LOCAL = "127.0.0.1"  # the default: this machine's loopback interface
ADDRESS_ENV = "TEXTVAE_ADDRESS"  # where to listen instead (0.0.0.0: every interface); needs the admin secret
FLAG = "--server.address"


class ServeError(Exception):
    """The app may not be served as asked (to others without the admin secret)."""


def given_address(args: Sequence[str]) -> str | None:
    """The address given on the command line (``--server.address ADDR`` or ``--server.address=ADDR``; the last
    one counts, as for Streamlit), or None."""
    found = None
    for i, arg in enumerate(args):
        if arg == FLAG:
            found = args[i + 1] if i + 1 < len(args) else ""
        elif arg.startswith(f"{FLAG}="):
            found = arg.split("=", 1)[1]
    return found


def streamlit_args(args: Sequence[str], env: Mapping[str, str], secret_set: bool) -> list[str]:
    """The arguments of ``streamlit run``: app.py on 127.0.0.1 unless ``args`` (``--server.address``) or
    ``env`` ($TEXTVAE_ADDRESS) say where else, then ``args``; ServeError when that serves others (another
    address, or a reverse proxy in front) and no admin secret is set."""
    given = given_address(args)
    address = (given if given is not None else env.get(ADDRESS_ENV, "")).strip() or LOCAL
    proxied = bool(env.get("TEXTVAE_BEHIND_PROXY"))
    if (proxied or not is_loopback(address)) and not secret_set:
        where = "behind a reverse proxy" if is_loopback(address) else f"on {address}"
        raise ServeError(
            f"run_app: not serving the app {where} without the admin secret: anyone who reaches it could train "
            "on this machine. Set TEXTVAE_SURVEY_ADMIN (or survey_admin_secret in .streamlit/secrets.toml) "
            f"first, or leave {ADDRESS_ENV} and --server.address unset to use the app on this machine "
            f"({LOCAL}). See docs/DEPLOYMENT.md."
        )
    return ["run", "app.py", *([] if given is not None else [FLAG, address]), *args]


def secrets(root: Path) -> dict[str, object]:
    """What Streamlit reads as st.secrets: ~/.streamlit/secrets.toml, then the project's own, which wins."""
    merged: dict[str, object] = {}
    for path in (Path.home() / ".streamlit" / "secrets.toml", root / ".streamlit" / "secrets.toml"):
        try:
            merged |= tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
    return merged


def main(argv: Sequence[str] | None = None) -> int:
    """Replace this process with ``python -m streamlit run app.py …`` (run from the repository root)."""
    from .survey import access

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        secret_set = access.configured("admin", secrets(Path.cwd())) is not None
        command = streamlit_args(args, os.environ, secret_set)
    except ServeError as err:
        print(err, file=sys.stderr)
        return 2
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", *command])
    return 0  # not reached: execv does not return


if __name__ == "__main__":
    sys.exit(main())
