"""The layering of ``../shared/DESIGN.md``, read from the source: every import statement of
every module (also those inside functions) is parsed with :mod:`ast`, so a forbidden import
fails here whether or not any test executes it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("separation", "features", "catalogue", "evaluation", "transcription", "reporting")
#: Top-level packages of the Dagster layer, which the libraries never import.
DAGSTER_LAYER = ("dagster", "assets", "orchestration", "resources")
#: The storage modules whose paths and schemas only :mod:`catalogue.store` applies for assets.
STORAGE_INTERNALS = ("catalogue.layout", "catalogue.schema", "catalogue.integrity")
#: Shipped or run code outside ``tests/`` (``tests`` itself is imported only by tests).
NOT_TESTS = (
    *LIBRARIES,
    "assets",
    "orchestration",
    "resources",
    "demodata",
    "atomicfile",
    "dbfs",
    "benchmarks",
    "scripts",
)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
    return names


def imported_names(path: Path) -> set[str]:
    """:func:`imported_modules` plus ``module.name`` for every ``from module import name``, so
    that ``from catalogue import layout`` is seen as importing ``catalogue.layout``."""
    names = imported_modules(path)
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imports_of(folder: str) -> dict[str, set[str]]:
    """Top-level package of every import, per module file under ``folder``."""
    return {
        str(path.relative_to(ROOT)): {name.split(".")[0] for name in imported_modules(path)}
        for path in sorted((ROOT / folder).rglob("*.py"))
    }


def offenders(folders: tuple[str, ...], forbidden: set[str]) -> dict[str, set[str]]:
    """Modules under ``folders`` importing a package of ``forbidden`` (any ``dagster_*`` counts
    as ``dagster``), with what they import."""
    found = {}
    for folder in folders:
        for module, tops in imports_of(folder).items():
            hits = {t for t in tops if t in forbidden or t.split("_")[0] in forbidden}
            if hits:
                found[module] = hits
    return found


def test_the_source_tree_is_where_the_rules_look():
    for folder in (*LIBRARIES, "assets", "orchestration", "demodata", "benchmarks"):
        assert list((ROOT / folder).rglob("*.py")), folder
    assert "catalogue" in imports_of("assets")["assets/stems.py"]  # the parser sees imports


@pytest.mark.parametrize("library", LIBRARIES)
def test_libraries_do_not_import_the_dagster_layer(library):
    assert offenders((library,), set(DAGSTER_LAYER)) == {}


def test_separation_does_not_import_the_catalogue():
    assert offenders(("separation",), {"catalogue"}) == {}


def test_the_catalogue_imports_no_features_essentia_or_tensorflow():
    assert offenders(("catalogue",), {"features", "essentia", "tensorflow", "keras"}) == {}


def test_evaluation_reads_annotations_without_demodata():
    assert offenders(("evaluation",), {"demodata"}) == {}


def test_assets_reach_storage_only_through_the_store():
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sorted((ROOT / "assets").rglob("*.py"))
        if (
            hits := {
                name
                for name in imported_names(path)
                if any(name == m or name.startswith(f"{m}.") for m in STORAGE_INTERNALS)
            }
        )
    }
    assert found == {}
    assert "catalogue.store" in imported_modules(ROOT / "assets" / "records.py")


def test_the_packages_below_the_libraries_import_none_of_them():
    assert offenders(("atomicfile", "dbfs"), {*LIBRARIES, *DAGSTER_LAYER, "demodata"}) == {}


def test_only_tests_import_tests():
    assert offenders(NOT_TESTS, {"tests"}) == {}
