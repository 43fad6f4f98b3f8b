"""The shipping gate: new weights replace the old only if they are better on every held-out
real clip, in both figures that a compositor sees (the difference to the warmed-up teacher
and the flicker). A synthetic score decides nothing here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

GATED = ("mad", "flicker")


@dataclass(frozen=True)
class Verdict:
    candidate: str
    incumbent: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        if self.passed:
            return (f"{self.candidate} beats {self.incumbent} on every held-out clip in "
                    f"{' and '.join(GATED)}: it may ship")
        return (f"{self.candidate} does not beat {self.incumbent}; {self.incumbent} stays:\n  "
                + "\n  ".join(self.failures))


def gate(rows: dict[str, dict[str, dict[str, float]]], candidate: str, incumbent: str
         ) -> Verdict:
    """``rows``: {clip: {weights name: figures}} as :func:`memmatte.train.heldout.table`
    makes it. Every clip must hold both names; a tie fails (it must be *lower*)."""
    if not rows:
        return Verdict(candidate, incumbent, ["no held-out clips were scored"])
    failures = []
    for clip, row in rows.items():
        for name in (candidate, incumbent):
            if name not in row:
                failures.append(f"{clip}: no figures for {name}")
        if candidate not in row or incumbent not in row:
            continue
        for key in GATED:
            new, old = row[candidate][key], row[incumbent][key]
            if not new < old:
                failures.append(f"{clip}: {key} {new} is not below {old}")
    return Verdict(candidate, incumbent, failures)


_PATH = re.compile(r"(^|[\s(=])(/|~/|[A-Za-z]:[\\/])[^\s]")


def machine_paths(meta: Any, where: str = "") -> list[tuple[str, str]]:
    """(where, text) of every string in ``meta`` that holds an absolute or home path:
    shipped metadata names clips, files and weights by relative path or id only."""
    if isinstance(meta, dict):
        return [hit for k, v in meta.items() for hit in machine_paths(v, f"{where}.{k}")]
    if isinstance(meta, (list, tuple)):
        return [hit for i, v in enumerate(meta) for hit in machine_paths(v, f"{where}[{i}]")]
    if isinstance(meta, str) and _PATH.search(meta):
        return [(where or ".", meta)]
    return []
