"""The package's public names resolve (they are imported lazily, on first use)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import textvae_core


@pytest.mark.parametrize("name", textvae_core.__all__)
def test_every_public_name_resolves_to_its_module(name: str) -> None:
    value = getattr(textvae_core, name)
    assert value is not None and name in dir(textvae_core)
    home = getattr(value, "__module__", None)
    assert home is None or home.startswith("textvae_core.")  # classes and functions come from the package


def test_the_export_list_and_the_lazy_table_agree() -> None:
    assert sorted(textvae_core.__all__) == sorted(textvae_core._HOME)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        textvae_core.Nope  # noqa: B018


def test_reading_a_run_s_json_does_not_import_torch() -> None:
    code = "import sys, textvae_core, textvae_core.rundir, textvae_core.corpus, textvae_core.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
