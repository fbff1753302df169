"""The tree's contracts, checked on the source: the layer order, private names, process-wide state, py.typed.

Every module of ``src/ipowner`` is parsed with ``ast``; every import counts, wherever it is written (top level,
inside a function, under ``if TYPE_CHECKING:``), and so do ``importlib.import_module("ipowner...")`` calls with a
constant name.

Stages, highest first; a module may import its own stage package, any lower stage and the shared basics::

    cli -> render -> engines -> reports -> lookups -> providers -> capture | reference -> model

- ``capture`` and ``reference`` are one level: ``capture`` may import ``reference`` (the tables it walks
  with), never the other way round.
- The shared basics, at the top of the package: ``ipowner.errors``, ``ipowner.exitcodes``, ``ipowner.paths``,
  ``ipowner._addr``, ``ipowner._version``. Any module may import them; they import only one another.
- The package root ``ipowner`` (``ipowner/__init__.py``) is the public API: it may re-export from every stage,
  and only ``cli`` may import it (``import ipowner``, or one of its lazy public names). ``from ipowner import
  paths`` is not an import of the root: it names a basic module, and counts as ``import ipowner.paths``.
- A new stage package must be added to ``LEVELS`` below before anything may import it.

Private names: no module imports a private module (a dotted path with a component that starts with ``_``) or
a private attribute (``from m import _x``, or ``m._x`` on an imported module) from another stage package.
Inside one stage package it is fine (``capture.formats`` may use ``capture._slow``); the basics ``_addr`` and
``_version`` are modules everyone may import, but their private attributes are theirs.

Process-wide state belongs to the process owner: outside ``ipowner/cli/`` no module switches the garbage
collector (``gc.disable``, ``gc.set_threshold``, ``gc.freeze``...).

A failure lists every violation as ``module:line: imported name: rule broken``.
"""

from __future__ import annotations

import ast
import functools
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "ipowner"

# Stage package -> level; a module may import a lower level (and its own package).
LEVELS: dict[str, int] = {
    "cli": 7,
    "render": 6,
    "engines": 5,
    "reports": 4,
    "lookups": 3,
    "providers": 2,
    "capture": 1,
    "reference": 1,
    "model": 0,
}
SAME_LEVEL_ALLOWED = {("capture", "reference")}  # (importer, imported)
BASICS = frozenset({"errors", "exitcodes", "paths", "_addr", "_version"})
PUBLIC_ALLOWED_BASICS = frozenset({"_addr", "_version"})  # private-looking modules everyone may import
ROOT_IMPORTERS = frozenset({"cli"})  # stages that may import the package root (the public API)
PROCESS_OWNER = "cli"
GC_STATE = frozenset({"disable", "enable", "set_threshold", "freeze", "unfreeze", "set_debug"})


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # the importing module, dotted
    path: Path
    line: int
    target: str  # the imported module, dotted (the longest prefix that is a module of the package)
    attribute: str | None  # the name taken from it, if any (``from target import attribute``)
    text: str  # what the source says, for the report


@dataclass(frozen=True, slots=True)
class Violation:
    where: str
    name: str
    rule: str

    def __str__(self) -> str:
        return f"{self.where}: {self.name}: {self.rule}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


@functools.cache
def _trees() -> dict[str, ast.Module]:
    return {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in _modules().items()}


def _is_package(module: str) -> bool:
    return _modules()[module].name == "__init__.py"


def _resolve_relative(module: str, level: int, name: str | None) -> str:
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _split(dotted: str) -> tuple[str, str | None]:
    """``a.b.c`` -> (the longest module prefix, the rest as an attribute or None)."""
    modules = _modules()
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in modules:
            rest = parts[cut:]
            return head, rest[0] if rest else None
    return dotted, None


def imports_in(module: str, tree: ast.Module, path: Path) -> list[Import]:
    """Every import of the package in one parsed module, wherever it is written."""
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    target, attribute = _split(alias.name)
                    found.append(Import(module, path, node.lineno, target, attribute, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            source = _resolve_relative(module, node.level, node.module) if node.level else (node.module or "")
            if not (source == PACKAGE or source.startswith(PACKAGE + ".")):
                continue
            for alias in node.names:
                full = f"{source}.{alias.name}"
                if full in _modules():  # from package import submodule
                    target, attribute = full, None
                else:
                    target, rest = _split(source)
                    attribute = rest if rest is not None else alias.name
                found.append(Import(module, path, node.lineno, target, attribute,
                                    f"from {'.' * node.level}{node.module or ''} import {alias.name}"))
        elif isinstance(node, ast.Call) and _imported_by_name(node):
            name = node.args[0].value  # type: ignore[attr-defined]
            target, attribute = _split(name)
            found.append(Import(module, path, node.lineno, target, attribute, f"import_module({name!r})"))
    return found


def _imported_by_name(node: ast.Call) -> bool:
    """``importlib.import_module("ipowner...")`` or ``__import__("ipowner...")`` with a constant name."""
    func = node.func
    named = (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in ("import_module", "__import__"))
    return named and bool(node.args) and isinstance(node.args[0], ast.Constant) and isinstance(
        node.args[0].value, str) and node.args[0].value.startswith(PACKAGE)


@functools.cache
def _imports() -> tuple[Import, ...]:
    return tuple(i for module, tree in _trees().items() for i in imports_in(module, tree, _modules()[module]))


def _stage(module: str) -> str:
    """The stage package of a module: ``capture``, ``cli``...; ``basics`` for the shared ones; ``root``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    if len(parts) == 2 and parts[1] in BASICS:
        return "basics"
    return parts[1]


def _is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _root_eager_names() -> dict[str, str]:
    """Names the root binds at import time from the basics (``from ipowner.errors import X``): name -> module."""
    names: dict[str, str] = {}
    for node in _trees()[PACKAGE].body:
        if isinstance(node, ast.ImportFrom) and node.module and _stage(node.module) == "basics":
            for alias in node.names:
                names[alias.asname or alias.name] = node.module
    return names


def layer_rule(importer_module: str, target_module: str, attribute: str | None = None) -> str | None:
    """The layer rule an import breaks, or None."""
    importer, target = _stage(importer_module), _stage(target_module)
    if target == "root" and attribute in _root_eager_names():
        target = "basics"  # from ipowner import ExitCode: the basic module behind the name
    if importer == "root":
        return "the public API does not import the command line" if target == "cli" else None
    if target == "root":
        if importer in ROOT_IMPORTERS:
            return None
        return (f"only {', '.join(sorted(ROOT_IMPORTERS))} may import the package root (the public API); "
                f"import the module that defines the name")
    if target in (importer, "basics"):
        return None
    if importer == "basics":
        return f"the shared basics import only one another, not {target}"
    for stage in (importer, target):
        if stage not in LEVELS:
            return f"stage package {stage!r} is not in the layer table"
    if LEVELS[target] < LEVELS[importer] or (importer, target) in SAME_LEVEL_ALLOWED:
        return None
    return (f"{importer} (level {LEVELS[importer]}) may not import {target} (level {LEVELS[target]}): the layers "
            f"go cli -> render -> reports -> lookups -> providers -> capture/reference -> model")


def private_rule(importer_module: str, target_module: str, attribute: str | None = None) -> str | None:
    """The private-name rule an import (or ``module.attribute`` use) breaks, or None."""
    importer, target = _stage(importer_module), _stage(target_module)
    if importer in ("root", target):
        return None  # the public API re-exports; inside one stage package private names are fine
    private_parts = [p for p in target_module.split(".")[1:]
                     if _is_private(p) and not (target == "basics" and p in PUBLIC_ALLOWED_BASICS)]
    if private_parts:
        return f"private module {target_module} of {target} used from {importer}"
    if attribute and _is_private(attribute):
        return f"private name {attribute} of {target_module} ({target}) used from {importer}"
    return None


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def layer_violations() -> list[Violation]:
    return [Violation(_where(i.path, i.line), i.text, rule) for i in _imports()
            if (rule := layer_rule(i.module, i.target, i.attribute))]


def _module_aliases(tree: ast.Module) -> dict[str, str]:
    """Local names bound to modules of the package (``import ipowner.x as m``, ``from ipowner import x``)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in _modules():
                    aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in _modules():
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def private_violations() -> list[Violation]:
    out = [Violation(_where(i.path, i.line), i.text, rule) for i in _imports()
           if (rule := private_rule(i.module, i.target, i.attribute))]
    for module, tree in _trees().items():  # module._private on a module imported by name
        aliases = _module_aliases(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                rule = private_rule(module, aliases[node.value.id], node.attr)
                if rule:
                    out.append(Violation(_where(_modules()[module], node.lineno), f"{node.value.id}.{node.attr}",
                                         rule))
    return out


def gc_calls(tree: ast.Module) -> list[tuple[int, str]]:
    """Calls that change the garbage collector's state: (line, function)."""
    module_names: set[str] = set()  # import gc [as x]
    function_names: dict[str, str] = {}  # from gc import disable [as y]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            module_names |= {a.asname or a.name for a in node.names if a.name == "gc"}
        elif isinstance(node, ast.ImportFrom) and node.module == "gc":
            function_names |= {a.asname or a.name: a.name for a in node.names if a.name in GC_STATE}
    calls: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in module_names:
            if func.attr in GC_STATE:
                calls.append((node.lineno, func.attr))
        elif isinstance(func, ast.Name) and func.id in function_names:
            calls.append((node.lineno, function_names[func.id]))
    return calls


def gc_violations() -> list[Violation]:
    return [Violation(_where(_modules()[module], line), f"gc.{name}()",
                      "process-wide state: only the command line (ipowner/cli/) may switch the garbage collector")
            for module, tree in _trees().items() if _stage(module) != PROCESS_OWNER
            for line, name in gc_calls(tree)]


def _report(violations: list[Violation], what: str) -> str:
    def order(v: Violation) -> tuple[str, int, str]:
        path, _, line = v.where.rpartition(":")
        return path, int(line), v.name

    lines = list(dict.fromkeys(str(v) for v in sorted(violations, key=order)))
    return f"{len(lines)} {what}:\n  " + "\n  ".join(lines)


# -- the tests ---------------------------------------------------------------------------------------


def test_the_parser_sees_every_kind_of_import() -> None:
    # The checks are only as good as the import list: made-up source with each way of writing an import.
    source = """
from __future__ import annotations
import gc
from typing import TYPE_CHECKING
import ipowner.capture as cap
from ipowner import paths, lookup
from . import _common
from ..model import AddressRecord
if TYPE_CHECKING:
    from ipowner.render import html
def later():
    from ipowner.lookups.lookup import lookup
    import importlib
    importlib.import_module("ipowner.reports")
    gc.freeze()
    return cap._batch
"""
    tree = ast.parse(source)
    found = {(i.target, i.attribute) for i in imports_in("ipowner.cli.lookup", tree, SRC / "made-up.py")}
    assert found == {
        ("ipowner.capture", None), ("ipowner.paths", None), (PACKAGE, "lookup"), ("ipowner.cli._common", None),
        ("ipowner.model", "AddressRecord"), ("ipowner.render.html", None), ("ipowner.lookups.lookup", "lookup"),
        ("ipowner.reports", None),
    }
    assert gc_calls(tree) == [(15, "freeze")]
    assert _module_aliases(tree)["cap"] == "ipowner.capture"
    assert private_rule("ipowner.cli.lookup", "ipowner.capture", "_batch")  # cap._batch


def test_the_rules_say_what_they_are_for() -> None:
    # The rules on made-up pairs: a wrong import is reported, a right one is not.
    allowed = [("ipowner.cli.lookup", "ipowner.render.html"), ("ipowner.capture.frame", "ipowner.reference.countries"),
               ("ipowner.model.address", "ipowner._addr"), ("ipowner.lookups.enrich", "ipowner.providers.special"),
               ("ipowner.capture.formats.pcap", "ipowner.capture._slow"), ("ipowner.cli.report", PACKAGE),
               ("ipowner.paths", "ipowner.errors"), (PACKAGE, "ipowner.reports.report")]
    for importer, target in allowed:
        assert layer_rule(importer, target) is None and private_rule(importer, target) is None, (importer, target)
    refused_layers = [("ipowner.reference.countries", "ipowner.capture.frame"), ("ipowner.model.report", "ipowner.reports"),
                      ("ipowner.providers.special", "ipowner.lookups.lookup"), ("ipowner.render.html", "ipowner.cli"),
                      ("ipowner.reports.report", PACKAGE), ("ipowner.errors", "ipowner.model"),
                      ("ipowner.cli.lookup", "ipowner.newstage.x")]
    for importer, target in refused_layers:
        assert layer_rule(importer, target), (importer, target)
    assert layer_rule("ipowner.model.report", PACKAGE, "ExitCode") is None  # a basic name the root re-exports
    assert private_rule("ipowner.lookups.enrich", "ipowner.providers.rdap._client")
    assert private_rule("ipowner.cli.lookup", "ipowner.model.serialize", "_helper")
    assert private_rule("ipowner.providers.special", "ipowner._addr") is None
    assert private_rule("ipowner.providers.special", "ipowner._addr", "_parse")
    assert _is_private("_slow") and not _is_private("__init__") and not _is_private("slow")
    assert _stage("ipowner.capture.formats.pcap") == "capture" and _stage("ipowner._addr") == "basics"
    assert _stage(PACKAGE) == "root" and _stage("ipowner.paths") == "basics"


def test_every_stage_package_is_in_the_layer_table() -> None:
    packages = {p.name for p in (SRC / PACKAGE).iterdir() if (p / "__init__.py").is_file()}
    assert packages - set(LEVELS) == set(), "add the new stage package to LEVELS (and to docs/architecture.md)"
    top_modules = {p.stem for p in (SRC / PACKAGE).glob("*.py")} - {"__init__"}
    assert top_modules <= BASICS, f"modules at the top of the package that are not shared basics: {top_modules - BASICS}"


def test_layers_are_imported_downwards_only() -> None:
    if violations := layer_violations():
        pytest.fail(_report(violations, "imports against the layer order"), pytrace=False)


def test_no_private_name_is_imported_from_another_stage() -> None:
    if violations := private_violations():
        pytest.fail(_report(violations, "imports of private names across stage packages"), pytrace=False)


def test_only_the_command_line_switches_the_garbage_collector() -> None:
    if violations := gc_violations():
        pytest.fail(_report(violations, "library calls that change the garbage collector"), pytrace=False)


def test_py_typed_ships() -> None:
    """``py.typed`` is in the package and the wheel's configuration takes the whole package folder."""
    assert (SRC / PACKAGE / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = config["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert f"src/{PACKAGE}" in wheel["packages"]
    assert not any("py.typed" in pattern for pattern in wheel.get("exclude", []))


def test_py_typed_is_in_the_built_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builders = pytest.importorskip("hatchling.builders.wheel", reason="hatchling (the build backend) is not installed")
    monkeypatch.setenv("IPOWNER_NO_EXTENSION", "1")  # the package's files only: no C compiler run
    built = list(builders.WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"]))
    assert len(built) == 1
    with zipfile.ZipFile(built[0]) as wheel:
        names = set(wheel.namelist())
    assert f"{PACKAGE}/py.typed" in names
    assert f"{PACKAGE}/__init__.py" in names and f"{PACKAGE}/data/ipowner-embedded.json" in names


def test_the_architecture_document_matches_the_tree():
    """docs/architecture.md names every module of the package, and every module it names exists."""
    import re

    pkg_root = SRC / PACKAGE
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([^`\s]+)`", doc))
    words = {w for n in named for w in re.split(r"[/:(),\s]+", n) if w}
    missing = []
    for path in sorted(pkg_root.rglob("*")):
        if path.suffix not in (".py", ".c", ".pyi") or path.name == "__init__.py" or "__pycache__" in path.parts:
            continue
        if path.name not in words and path.stem not in words:
            missing.append(str(path.relative_to(pkg_root)))
    for pkg in sorted(p for p in pkg_root.rglob("*") if p.is_dir() and (p / "__init__.py").exists()):
        if pkg.name not in words and f"{pkg.name}/" not in doc:
            missing.append(str(pkg.relative_to(pkg_root)) + "/")
    assert not missing, "docs/architecture.md does not name: " + ", ".join(missing)
    files = {p.name for p in ROOT.rglob("*.py") if ".venv" not in p.parts} | {
        p.name for p in pkg_root.rglob("*") if p.suffix in (".c", ".pyi")}
    ghosts = sorted(w for w in words if re.fullmatch(r"[\w]+\.(py|c|pyi)", w) and w not in files)
    assert not ghosts, "docs/architecture.md names modules that do not exist: " + ", ".join(ghosts)
