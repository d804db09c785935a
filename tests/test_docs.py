"""The documentation site's sources: every page in the navigation, every public name in the
API reference. (`make docs` builds the site with --strict: broken links and references.)"""

import importlib.util
import re
from pathlib import Path

import pytest

import symnoether

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("mkdocs", reason="the docs extra is not installed (make docs installs it)")


def _hook():
    spec = importlib.util.spec_from_file_location("api_page", ROOT / "docs/hooks/api_page.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_has_every_public_name():
    page = _hook().api_markdown()
    entries = re.findall(r"^::: symnoether\.(\w+)$", page, flags=re.MULTILINE)
    assert sorted(entries) == sorted(symnoether.__all__)


def test_every_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = [p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*")
             if p.suffix in (".md", ".ipynb") and "hooks" not in p.parts]
    assert pages and [p for p in pages if p not in nav] == []
