"""The package's layering (docs/architecture.md): a folder imports only from lower layers,
and the package root holds only general utilities."""

import ast
from pathlib import Path

import vcm

PACKAGE = Path(vcm.__file__).parent

# Lowest first. A module may import its own folder and any folder of a lower layer, never
# a folder of its own layer or a higher one. "" is the package root's utilities.
LAYERS = (
    {""},
    {"codec"},
    {"media"},
    {"models"},
    {"tasks"},
    {"xai"},
    {"planners"},
    {"preedit", "privacy"},
    {"pipeline"},
    {"eval"},
    {"lic", "cdomain", "restoration"},
    {"api"},
    {"cloud"},
    {"edge", "server"},
    {"cli"},
)
ROOT_UTILITIES = {"__init__", "allocator", "assets", "atomic", "batch", "cache", "errors", "interrupt",
                  "progress", "registry", "rounding", "streamjson", "threads", "tomlfile"}


def _layer_of(folder: str) -> int:
    for index, layer in enumerate(LAYERS):
        if folder in layer:
            return index
    raise AssertionError(f"vcm/{folder} has no layer: add it to LAYERS and docs/architecture.md")


def _folder_of(module: str) -> str:
    """'vcm.codec.encoder' -> 'codec'; 'vcm.errors' (a root module) -> ''."""
    parts = module.split(".")
    if len(parts) < 2:
        return ""
    return parts[1] if (PACKAGE / parts[1]).is_dir() else ""


def _imports(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vcm."):
            modules.append(node.module)
        elif isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names if alias.name.startswith("vcm."))
    return modules


def test_no_folder_imports_a_folder_above_or_beside_it() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative == Path("__init__.py"):
            continue  # the public API re-exports the library
        own = relative.parts[0] if len(relative.parts) > 1 else ""
        for module in _imports(path):
            folder = _folder_of(module)
            if folder != own and _layer_of(folder) >= _layer_of(own):
                wrong.append(f"vcm/{relative} imports {module}")
    assert wrong == []


def test_the_package_root_holds_only_general_utilities() -> None:
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    assert modules <= ROOT_UTILITIES, sorted(modules - ROOT_UTILITIES)
