"""How every benchmark prints its results: markdown tables that paste into docs/ as they are."""

from __future__ import annotations


def print_table(rows: list[dict[str, str]], title: str | None = None) -> None:
    """A markdown table, so the output pastes into docs/ as it is."""
    if title:
        print(f"\n{title}\n")
    keys = list(rows[0])
    widths = [max(len(k), *(len(r[k]) for r in rows)) for k in keys]
    print("| " + " | ".join(k.rjust(w) for k, w in zip(keys, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(r[k].rjust(w) for k, w in zip(keys, widths, strict=True)) + " |", flush=True)
