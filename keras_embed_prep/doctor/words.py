"""How a report writes numbers, row counts and lists of columns, and how many rows or values it lists."""

from __future__ import annotations

#: Rows / values listed at most in a report.
LISTED = 10


def g(x: float | None) -> str:
    """A number to three significant digits, ``n/a`` for None."""
    return "n/a" if x is None else f"{x:.3g}"


def rows_of(n: int, total: int) -> str:
    """``"4 of 80 rows"``."""
    return f"{n} of {total} row{'s' if total != 1 else ''}"


def names(columns: list[str], limit: int = 5) -> str:
    """``"'a', 'b' and 3 more"``."""
    shown = ", ".join(f"'{c}'" for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")
