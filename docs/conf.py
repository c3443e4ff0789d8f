"""Sphinx configuration of the picky-sgd documentation (furo + MyST).

Build (from the repository root; warnings are errors, nitpicky: every cross-reference must resolve):

    .venv/bin/pip install -e ".[docs]" && .venv/bin/sphinx-build -W --keep-going -n -b html docs docs/_build/html

The generated pages (claims, theory, figures gallery, API) are written by ``docs/generate.py`` into
``docs/generated/`` when the build starts; nothing is recomputed (figures and numbers are the committed ones).
"""
from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))

import generate  # noqa: E402
import theory  # noqa: E402

generate.generate(DOCS / "generated")

project = "picky-sgd"
author = "picky-sgd contributors"
copyright = "picky-sgd contributors"
release = version = theory.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "README.md", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# MyST: $...$ and $$...$$ math, heading anchors for [text](page.md#anchor) links (checked: a missing
# page or anchor is a warning, so an error under -W)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# autodoc: docstrings as written (numpy-style sections through napoleon); signatures keep the hints
# each object documented once, under its public name: a package documents its ``__all__`` (re-exports
# included) and its submodules leave those objects out (``:exclude-members:``, written by generate.py);
# undocumented module data too, so that references to it resolve (long values are cut: _short_values)
autodoc_default_options = {"members": True, "undoc-members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_ivar = True
napoleon_custom_sections = [("Fields", "Attributes")]  # RunResult's "Fields"  # an "Attributes" section is a field list, not a second description of each field

# every cross-reference must resolve (-n / nitpicky) -- except to libraries outside this package, whose
# inventories are not fetched (no network at build time) and builtin typing names
nitpicky = True
# a function-local alias in an annotation of verify.search.strategies (``problems as P``)
nitpick_ignore = [("py:class", "P.Problem")]
nitpick_ignore_regex = [
    # a "type" that is prose (numpy-style ``name : description`` fields) or a fragment of a string
    # annotation: not a Python name, so not a reference
    (r"py:class", r".*[^\w.].*|optional|i|number|default|callable|array|array-like"),
    (r"py:.*", r"(np|numpy|sp|sympy|pd|pandas|scipy|numba|dask|distributed|hypothesis|matplotlib|concurrent|collections"
               r"|typing|typing_extensions|pathlib|os|io|argparse|enum|dataclasses|datetime|threading|multiprocessing"
               r"|subprocess|types|abc|contextlib|functools|json|random|re|signal|logging|tempfile)\..*"),
    (r"py:.*", r"(int|float|str|bool|bytes|dict|list|tuple|set|frozenset|object|type|None|NoneType|Any|Callable"
               r"|Iterable|Iterator|Sequence|Mapping|MutableMapping|Optional|Union|Literal|Path|ndarray|Expr|Basic|Symbol"
               r"|Generator|Hashable|Protocol|TypeVar|ClassVar|Self|Exception|ValueError|TypeError|KeyError|RuntimeError"
               r"|Enum|IntEnum|float64|int64|int32|complex)"),
]

html_theme = "furo"
html_title = f"picky-sgd {release}"
html_static_path: list[str] = []


# ------------------------------------------------------------------------------------------------------
# A Python reference that names an object of this package that exists but has no entry of its own
# (module data without a doc comment, a private helper, a name imported into the module) is rendered as
# text instead of a link; one that names nothing that exists stays a warning (an error under -W). So
# every :class:/:func:/:mod:/:data:/:meth: of the docstrings is checked against the code.
# ------------------------------------------------------------------------------------------------------
import importlib  # noqa: E402


_MISSING = object()


def _lookup(dotted: str):
    """The object of this package named ``dotted`` (``_MISSING`` if there is none)."""
    parts = dotted.split(".")
    if parts[0] not in ("theory", "verify"):
        return _MISSING
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for name in parts[i:]:
                obj = getattr(obj, name)
        except AttributeError:
            return _MISSING
        return obj
    return _MISSING


def _exists(dotted: str) -> bool:
    return _lookup(dotted) is not _MISSING


def _home_module(node) -> str | None:
    """The module that defines the object whose description holds ``node`` (a re-exported object is
    described under its public name, but its docstring's relative names live in its home module)."""
    from sphinx import addnodes

    parent = node.parent
    while parent is not None and not isinstance(parent, addnodes.desc):
        parent = parent.parent
    if parent is None:
        return None
    for sig in parent.findall(addnodes.desc_signature):
        if sig.get("module") is not None and sig.get("fullname"):
            obj = _lookup(f"{sig['module']}.{sig['fullname']}")
            return getattr(obj, "__module__", None) if obj is not _MISSING else None
    return None


def _existing_object(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    mod, cls = node.get("py:module"), node.get("py:class")
    candidates = [target]
    if mod:
        candidates.append(f"{mod}.{target}")
        if cls:
            candidates.append(f"{mod}.{cls}.{target}")
    home = _home_module(node)
    if home:
        candidates.append(f"{home}.{target}")
    if any(_exists(c) for c in candidates):
        return contnode
    if node.get("reftype") == "class" and node.get("refspecific") and "refwarn" not in node:
        # the "type" of a numpy-style field (``name : type``): prose in this package's docstrings
        # ("float > 0, default 1"), not a reference -- left as text, not checked
        return contnode
    if app.config.docs_debug_refs:
        print("UNRESOLVED", dict(node.attributes))
    return None


MAX_VALUE = 120


def _short_values(app, doctree):
    """Cut the shown value of module data and attributes to MAX_VALUE characters (a registry's repr runs to
    pages; the source has it)."""
    from docutils import nodes
    from sphinx import addnodes

    for ann in doctree.findall(addnodes.desc_annotation):
        if not ann.astext().lstrip().startswith("="):
            continue
        for text in list(ann.findall(nodes.Text)):
            if len(text) > MAX_VALUE:
                text.parent.replace(text, nodes.Text(str(text)[:MAX_VALUE] + " ..."))


def setup(app):
    app.connect("doctree-read", _short_values)
    app.add_config_value("docs_debug_refs", False, "env")
    app.connect("missing-reference", _existing_object)
