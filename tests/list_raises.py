"""List every documented ``Raises:`` entry of disbench's public API and the tests that check it.

    python tests/list_raises.py            # summary + the entries no test covers
    python tests/list_raises.py --all      # every entry with the tests found for it

An entry is one (public function / class / method, error class) pair from a Google-style
``Raises:`` section. It counts as covered when some test function under ``tests/`` both
mentions the callable's name (or, for a class's ``__init__``, the class name) and has a
``pytest.raises(...)`` naming that error class or a subclass of it (the test bodies are
read with :mod:`ast`; a test calling through a helper of the same module counts when the
helper mentions the name). Exit status 1 when an entry is uncovered.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import disbench  # noqa: E402
from disbench import errors  # noqa: E402

ERROR_NAMES = {name for name, obj in vars(errors).items() if isinstance(obj, type) and issubclass(obj, Exception)}


def public_callables():
    """(module name, qualified name, object) of every public function, class and method."""
    seen = set()
    for info in pkgutil.walk_packages(disbench.__path__, "disbench."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) and id(obj) not in seen:
                seen.add(id(obj))
                yield module.__name__, name, obj
            elif inspect.isclass(obj) and id(obj) not in seen:
                seen.add(id(obj))
                yield module.__name__, name, obj
                for attr, member in vars(obj).items():
                    if attr.startswith("_") and attr != "__init__":
                        continue
                    func = member.__func__ if isinstance(member, classmethod | staticmethod) else member
                    if inspect.isfunction(func):
                        yield module.__name__, f"{name}.{attr}", func


def documented_raises(obj) -> list[str]:
    """Error class names listed in the ``Raises:`` section of ``obj``'s docstring."""
    doc = inspect.getdoc(obj) or ""
    match = re.search(r"^Raises:\n((?:[ \t]+.*\n?|\n)+)", doc, flags=re.M)
    if not match:
        return []
    names = []
    for line in match.group(1).splitlines():
        head = re.match(r"^ {4}([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*:", line)
        if head:
            names += [n.strip().split(".")[-1] for n in head.group(1).split(",")]
    return names


def subclasses_of(name: str) -> set[str]:
    """``name`` and every error class of disbench (any module) deriving from it."""
    out = {name}
    for _mod, qual, obj in ALL:
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            if any(base.__name__ == name for base in obj.__mro__):
                out.add(qual)
    return out


def test_functions():
    """(file, test name, set of names it mentions, set of error names in its pytest.raises)."""
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        tree = ast.parse(path.read_text())
        helpers = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("test")}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                names, raised = _mentions(node), set()
                for helper in names & set(helpers):
                    names |= _mentions(helpers[helper])
                params = {}
                for dec in node.decorator_list:  # parametrize values count as mentions
                    names |= _mentions(dec)
                    params.update({n.id: True for n in ast.walk(dec) if isinstance(n, ast.Name)})
                for call in ast.walk(node):
                    if isinstance(call, ast.Call) and _is_raises(call) and call.args:
                        raised |= _error_names(call.args[0])
                        if isinstance(call.args[0], ast.Name) and call.args[0].id not in ERROR_NAMES:
                            # pytest.raises(err) with err from parametrize: take the decorators' names
                            raised |= {n for n in names if n[:1].isupper()}
                yield path.name, node.name, names, raised


def _mentions(node) -> set[str]:
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute):
            out.add(n.attr)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            out.update(re.findall(r"[A-Za-z_][\w]*", n.value))
    return out


def _is_raises(call: ast.Call) -> bool:
    f = call.func
    return (isinstance(f, ast.Attribute) and f.attr == "raises") or (isinstance(f, ast.Name) and f.id == "raises")


def _error_names(node) -> set[str]:
    if isinstance(node, ast.Tuple):
        return set().union(*(_error_names(e) for e in node.elts))
    if isinstance(node, ast.Attribute):
        return {node.attr}
    if isinstance(node, ast.Name):
        return {node.id}
    return set()


ALL = list(public_callables())
# CLI sub-commands reach library functions through their command names
CLI_ALIASES = {"main": {"main"}}


def main(argv: list[str]) -> int:
    tests = list(test_functions())
    entries = []
    for module, qual, obj in ALL:
        for err in documented_raises(obj):
            owner = qual.split(".")[0] if qual.endswith(".__init__") else qual.split(".")[-1]
            accepted = subclasses_of(err)
            covering = [f"{f}::{t}" for f, t, names, raised in tests if owner in names and raised & accepted]
            entries.append((f"{module}.{qual}", err, covering))
    uncovered = [e for e in entries if not e[2]]
    callables = {e[0] for e in entries}
    print(f"{len(entries)} documented Raises entries in {len(callables)} public callables; "
          f"{len(entries) - len(uncovered)} covered by a test, {len(uncovered)} not")  # fmt: skip
    for name, err, covering in entries if "--all" in argv else uncovered:
        print(f"  {'ok ' if covering else 'NO '} {name}: {err}" + (f"  <- {covering[0]}" if covering else ""))
    return 1 if uncovered else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
