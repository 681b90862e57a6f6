"""The layers of docs/architecture.md, checked on the code: every import between packages of
``gradwise`` (imports inside functions too) goes to a lower layer, so nothing imports the
layer above it and no two packages import each other."""

import ast
import importlib
import pkgutil
from pathlib import Path

import gradwise

#: docs/architecture.md's layers, top-level name -> layer.
LAYERS = {
    "errors": 0, "_validate": 0, "_version": 0, "_memory": 0, "_html": 0, "storage": 0,
    "nn": 1, "data": 1,
    "calculus": 2,
    "optim": 3,
    "training": 4,
    "estimators": 5, "selection": 5, "landscape": 5,
    "plot": 6,
    "commands": 7,
    "cli": 8,
}  # fmt: skip

ROOT = Path(gradwise.__file__).parent


def imports_between_packages():
    """``(file, importer, imported)`` for every relative import that leaves its package."""
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts == ("__init__",):
            continue  # the package's lazy front door names every layer on purpose
        package = parts[:-1]  # a module's package; an __init__ is its own package
        importer = parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            base = list(package)[: len(package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
            names = target[:1] if target else [a.name for a in node.names]
            for imported in names:
                if imported != importer:
                    yield path.relative_to(ROOT), importer, imported


def test_every_package_has_a_layer():
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in ROOT.glob("*.py") if p.stem != "__init__"}
    assert packages | modules == set(LAYERS), sorted((packages | modules) ^ set(LAYERS))


def test_every_import_goes_down_a_layer():
    upward = [
        f"{path}: {importer} (layer {LAYERS[importer]}) imports {imported} "
        f"(layer {LAYERS[imported]})"
        for path, importer, imported in imports_between_packages()
        if LAYERS[imported] and LAYERS[imported] >= LAYERS[importer]
    ]
    assert not upward, "\n".join(upward)


def test_no_public_name_hides_a_module():
    """``import gradwise.a.b as m`` gives the module ``b``: no package exports a name ``b``
    that is something else (an implementation module that would be hidden is private)."""
    hidden = []

    def walk(package):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            if getattr(package, info.name, module) is not module:
                hidden.append(module.__name__)
            if info.ispkg:
                walk(module)

    walk(gradwise)
    assert not hidden
