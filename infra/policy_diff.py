"""What the working tree changes under `policy/` compared with a trusted ref: facts, rules,
modules, Gatekeeper templates. `review --policy-from` prints it under "policy changed", for the
model owner who must approve such changes (CODEOWNERS puts `policy/` under her review).

Facts are the top-level names of `policy/facts.py` whose statement (its AST, so formatting and
comments do not count) was added, removed or changed; rules are the `Rule(...)` entries of the
catalogue by name, and each changed module lists the rules whose check refers to it, directly
or through the modules it imports.
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from infra.errors import UserError

POLICY = "policy"
FACTS = "policy/facts.py"
CATALOGUE = "policy/rules/catalogue.py"
GATEKEEPER = "policy/gatekeeper/"
_IGNORED_PARTS = ("__pycache__",)


@dataclass(frozen=True)
class Change:
    """One changed item: its name (or path), how (added/removed/changed) and details."""

    name: str
    change: str
    detail: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyChanges:
    facts: tuple[Change, ...] = ()
    rules: tuple[Change, ...] = ()
    modules: tuple[Change, ...] = ()  # detail: the rules whose check refers to the module
    templates: tuple[Change, ...] = ()  # detail: the changed files of the template directory
    files: tuple[Change, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return bool(self.facts or self.rules or self.modules or self.templates or self.files)


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["git", *args],  # noqa: S607 - git from PATH, as CI has it
        cwd=repo,
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise UserError(f"git {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode("utf-8", errors="replace")


def _ignored(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return any(p in _IGNORED_PARTS for p in parts) or path.endswith(".pyc")


def tree_files(tree: Path) -> dict[str, str]:
    """Every file under policy/ of a clean checkout (the trusted ref's worktree), path -> text."""
    root = tree / POLICY
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")) if root.is_dir() else ():
        name = path.relative_to(tree).as_posix()
        if path.is_file() and not _ignored(name):
            out[name] = path.read_bytes().decode("utf-8", errors="replace")
    return out


def working_files(repo: Path) -> dict[str, str]:
    """Every file under policy/ in the working tree (tracked or not, unless git-ignored)."""
    names = _git(
        repo, "ls-files", "--cached", "--others", "--exclude-standard", "--", POLICY
    ).splitlines()
    out: dict[str, str] = {}
    for name in names:
        path = repo / name
        if _ignored(name) or not path.is_file():
            continue
        out[name] = path.read_bytes().decode("utf-8", errors="replace")
    return out


def _how(before: Mapping[str, Any], after: Mapping[str, Any], key: str) -> str | None:
    if key not in before:
        return "added"
    if key not in after:
        return "removed"
    return "changed" if before[key] != after[key] else None


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, str]]:
    keys = sorted(set(before) | set(after))
    return [(k, how) for k in keys if (how := _how(before, after, k))]


def top_level_names(source: str) -> dict[str, str]:
    """name -> AST dump of the statement that binds it at module level."""
    out: dict[str, str] = {}
    for stmt in ast.parse(source).body:
        dump = ast.dump(stmt)
        for name in _bound_names(stmt):
            out[name] = dump
    return out


def _bound_names(stmt: ast.stmt) -> Iterable[str]:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield stmt.name
    elif isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            yield from (n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    elif isinstance(stmt, ast.AnnAssign | ast.AugAssign) and isinstance(stmt.target, ast.Name):
        yield stmt.target.id
    elif isinstance(stmt, ast.Import | ast.ImportFrom):
        for alias in stmt.names:
            yield (alias.asname or alias.name).split(".")[0]


def catalogue_rules(source: str) -> tuple[dict[str, str], dict[str, set[str]]]:
    """(rule name -> AST dump of its `Rule(...)` entry, rule name -> the module stems its check
    refers to through the catalogue's imports)."""
    tree = ast.parse(source)
    imported: dict[str, str] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom):
            base = "policy/rules" if stmt.level else (stmt.module or "").replace(".", "/")
            module = (stmt.module or "") if stmt.level else ""
            for alias in stmt.names:
                bound = alias.asname or alias.name
                if stmt.level and not module:
                    imported[bound] = f"{base}/{alias.name}"
                elif stmt.level:
                    imported[bound] = f"{base}/{module.replace('.', '/')}"
                else:
                    imported[bound] = base
    entries: dict[str, str] = {}
    uses: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Rule"):
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        name = keywords.get("name")
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            continue
        entries[name.value] = ast.dump(node)
        check = keywords.get("check")
        refs = {n.id for n in ast.walk(check) if isinstance(n, ast.Name)} if check else set()
        uses[name.value] = {imported[r] for r in refs if r in imported}
    return entries, uses


def _stem(path: str) -> str:
    """`policy/rules/data.py` -> `policy/rules/data`; a package's `__init__.py` -> the package."""
    return path.removesuffix(".py").removesuffix("/__init__")


def module_imports(files: Mapping[str, str]) -> dict[str, set[str]]:
    """Module stem -> the stems of the policy modules it imports (absolute or relative)."""
    stems = {_stem(p) for p in files if p.endswith(".py")}
    graph: dict[str, set[str]] = {}
    for path, source in files.items():
        if not path.endswith(".py"):
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        package = _stem(path) if path.endswith("/__init__.py") else path.rpartition("/")[0]
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {a.name.replace(".", "/") for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split("/")
                    base = base[: len(base) - node.level + 1]
                    parent = "/".join(base)
                else:
                    parent = ""
                module = (node.module or "").replace(".", "/")
                target = "/".join(part for part in (parent, module) if part)
                found.add(target)
                found |= {f"{target}/{a.name}" for a in node.names}
        graph[_stem(path)] = found & stems
    return graph


def _reach(start: Iterable[str], graph: Mapping[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        stem = todo.pop()
        if stem not in seen:
            seen.add(stem)
            todo.extend(graph.get(stem, ()))
    return seen


def compare_files(before: Mapping[str, str], after: Mapping[str, str]) -> PolicyChanges:
    """The changes from `before` (the trusted ref) to `after` (the working tree)."""
    notes: list[str] = []
    facts: list[Change] = []
    how_facts = _how(before, after, FACTS)
    if how_facts == "changed":
        try:
            facts = [
                Change(n, h)
                for n, h in _diff(top_level_names(before[FACTS]), top_level_names(after[FACTS]))
            ]
        except SyntaxError as exc:
            facts = [Change(FACTS, "changed", (f"cannot be parsed: {exc.msg}",))]
    elif how_facts:
        facts = [Change(FACTS, how_facts)]

    rules: list[Change] = []
    uses: dict[str, set[str]] = {}
    try:
        old_rules, old_uses = catalogue_rules(before.get(CATALOGUE, ""))
        new_rules, uses = catalogue_rules(after.get(CATALOGUE, ""))
        uses = {**old_uses, **uses}
        rules = [Change(n, h) for n, h in _diff(old_rules, new_rules)]
    except SyntaxError as exc:
        notes.append(f"{CATALOGUE} cannot be parsed ({exc.msg}); its rules are not listed")

    modules: list[Change] = []
    files: list[Change] = []
    template_files: dict[str, list[str]] = {}
    graph = module_imports({**before, **after})
    reach = {rule: _reach(refs, graph) for rule, refs in uses.items()}
    for path, how in _diff(before, after):
        if path.startswith(GATEKEEPER) and "/" in path.removeprefix(GATEKEEPER):
            directory, _, inner = path.removeprefix(GATEKEEPER).partition("/")
            template_files.setdefault(directory, []).append(f"{inner} {how}")
        elif path == FACTS:
            continue
        elif path.endswith(".py"):
            users = sorted(r for r, stems in reach.items() if _stem(path) in stems)
            modules.append(Change(path, how, tuple(users)))
        else:
            files.append(Change(path, how))
    templates = []
    for directory, changed in sorted(template_files.items()):
        old = any(p.startswith(f"{GATEKEEPER}{directory}/") for p in before)
        new = any(p.startswith(f"{GATEKEEPER}{directory}/") for p in after)
        how = "changed" if old and new else ("added" if new else "removed")
        templates.append(Change(directory, how, tuple(changed)))
    return PolicyChanges(
        tuple(facts), tuple(rules), tuple(modules), tuple(templates), tuple(files), tuple(notes)
    )


def compare(repo: Path, trusted_tree: Path) -> PolicyChanges:
    """The working tree's policy/ against the trusted checkout's."""
    return compare_files(tree_files(trusted_tree), working_files(repo))


def to_json(changes: PolicyChanges) -> dict[str, Any]:
    def items(found: Iterable[Change], detail: str | None = None) -> list[dict[str, Any]]:
        return [
            {"name": c.name, "change": c.change, **({detail: list(c.detail)} if detail else {})}
            for c in found
        ]

    return {
        "changed": changes.changed,
        "facts": items(changes.facts),
        "rules": items(changes.rules),
        "modules": items(changes.modules, "rules"),
        "templates": items(changes.templates, "files"),
        "files": items(changes.files),
        "notes": list(changes.notes),
    }


def render_text(changes: PolicyChanges, ref: str) -> str:
    """The "policy changed" section of the text report."""
    if not changes.changed:
        return f"policy unchanged since {ref}"
    lines = [
        f"policy changed since {ref}: judged by {ref}'s policy; the change itself needs the "
        "model owner's approval (CODEOWNERS)"
    ]

    def listed(title: str, found: Iterable[Change], detail_label: str = "") -> None:
        found = list(found)
        if not found:
            return
        lines.append(f"  {title}:")
        for c in found:
            extra = f" ({detail_label}{', '.join(c.detail)})" if c.detail else ""
            lines.append(f"    {c.name} {c.change}{extra}")

    listed("facts (policy/facts.py)", changes.facts)
    listed("rules (catalogue entries)", changes.rules)
    listed("modules", changes.modules, "rules: ")
    listed("Gatekeeper templates", changes.templates)
    listed("other files", changes.files)
    lines.extend(f"  note: {n}" for n in changes.notes)
    return "\n".join(lines)
