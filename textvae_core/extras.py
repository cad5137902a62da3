"""The distribution's optional parts (pyproject.toml's extras): which packages each needs, checked without
importing them, so that a part used without its extra says which extra to install instead of failing deep
inside with a bare ModuleNotFoundError. The library itself (this package) needs none of them.
"""

from __future__ import annotations

import importlib.util

EXTRAS: dict[str, tuple[str, ...]] = {  # extra → the modules of it that its code imports in every case
    "app": ("streamlit", "plotly", "pandas", "sklearn", "umap"),
    "survey": ("sqlalchemy", "choix", "krippendorff", "scipy", "pandas"),  # psycopg: only for PostgreSQL
    "lab": ("scipy", "jinja2"),
}


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (found on the path, not imported)."""
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def require(extra: str, what: str) -> None:
    """Raise an ImportError naming ``extra`` and its install command when one of its modules is missing."""
    absent = missing(extra)
    if absent:
        raise ImportError(
            f"{what} needs the '{extra}' extra ({', '.join(absent)} not installed): "
            f'pip install -c constraints.txt -e ".[{extra}]" in the repository'
        )
