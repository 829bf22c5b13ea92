"""The agent's small tools: current time and a calculator. Plain functions of the model's input.

The calculator walks the expression's syntax tree and allows numbers and arithmetic only:
no names, calls or attributes, so nothing the model writes can run as code (no eval).
"""

from __future__ import annotations

import ast
import math
import operator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_EXPRESSION_CHARS = 500
MAX_EXPONENT = 1000  # 10**1000 is fine; 9**9**9 would hold a worker for minutes
_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {"sqrt": math.sqrt, "abs": abs, "round": round, "log": math.log, "sin": math.sin, "cos": math.cos}
_CONSTANTS = {"pi": math.pi, "e": math.e}


class ToolInputError(ValueError):
    """The model's input cannot be used; the message goes back to the model as the tool's result."""


def current_time(args: dict[str, Any]) -> str:
    zone = str(args.get("timezone") or "UTC")
    try:
        tz = UTC if zone == "UTC" else ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolInputError(f"unknown time zone {zone[:60]!r} (use an IANA name such as Europe/Berlin)") from None
    return datetime.now(tz).isoformat(timespec="seconds")


def calculator(args: dict[str, Any]) -> str:
    expression = str(args.get("expression", ""))
    if not expression.strip() or len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolInputError(f"expression must be 1 to {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise ToolInputError("not an arithmetic expression") from None
    try:
        value = _value(tree.body)
    except (ArithmeticError, ValueError) as exc:
        raise ToolInputError(f"cannot compute: {exc}") from None
    return repr(value)


def _value(node: ast.AST) -> float | int:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ValueError(f"exponent above {MAX_EXPONENT}")
        return _BINARY[type(node.op)](left, right)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
            and not node.keywords and len(node.args) in (1, 2)):
        return _FUNCTIONS[node.func.id](*(_value(arg) for arg in node.args))
    raise ValueError("only numbers, + - * / // % **, pi, e and sqrt, abs, round, log, sin, cos are allowed")


SPECS: dict[str, dict[str, Any]] = {
    "current_time": {
        "description": "The current date and time (ISO 8601) in a time zone.",
        "properties": {"timezone": {"type": "string", "description": "IANA zone, e.g. Europe/Berlin; default UTC"}},
        "required": [],
    },
    "calculator": {
        "description": "Evaluate an arithmetic expression exactly, e.g. (17 * 23) / 4 or sqrt(2).",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
}
