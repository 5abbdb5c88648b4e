"""The source keeps the brief's shape: no function over ~60 lines without saying why.

A function body (its docstring left out) longer than :data:`MAX_LINES` must carry a comment
starting ``# long:`` that says why it stays in one piece; anything else is split. The check
reads the source (AST), so it runs in milliseconds.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "pushforward"
MAX_LINES = 60


def _long_functions() -> list[str]:
    """'file:line name (N lines)' for every function body over MAX_LINES without '# long:'."""
    out = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            body = node.body
            if (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str) and len(body) > 1):
                body = body[1:]  # the docstring is not code
            length = node.end_lineno - body[0].lineno + 1
            source = lines[node.lineno - 1 : node.end_lineno]
            if length > MAX_LINES and not any("# long:" in line for line in source):
                out.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({length} lines)")
    return out


def test_no_long_function_without_a_reason():
    assert _long_functions() == []


def test_the_check_sees_a_long_function(tmp_path, monkeypatch):
    # the rule itself: a 61-line body is found, the same body with its reason is not
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    (tmp_path / "m.py").write_text(f"def f():\n    \"\"\"Doc.\"\"\"\n{body}\n")
    monkeypatch.setattr(__import__(__name__), "SRC", tmp_path)
    assert _long_functions() == ["m.py:1 f (61 lines)"]
    (tmp_path / "m.py").write_text(f"def f():\n    # long: a reason\n{body}\n")
    assert _long_functions() == []
