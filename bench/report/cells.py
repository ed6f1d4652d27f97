"""How the report writes a figure, a table and a titled block."""

from __future__ import annotations

from collections.abc import Iterable


def n(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    if digits == 0:
        return f"{round(value):,}"
    return f"{value:,.{digits}f}"


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 100 else f"{value:,.0f}"


def table(head: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def block(title: str, intro: str, head: list[str], rows: list[list[str]]) -> list[str]:
    """A heading, an optional paragraph saying how the figures were taken, a table."""
    lines = [title, ""]
    if intro:
        lines += [intro, ""]
    return [*lines, *table(head, rows)]


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def ratio(num: float | None, den: float | None) -> str:
    return f"{num / den:.2f}" if num and den else "-"

