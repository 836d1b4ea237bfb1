"""A track asset as the batch runner sees it: a :class:`TrackStep` with its checks, and the
result and failure of one track's computation.

:mod:`assets.track_batch` runs these steps over a run's batch of tracks; each asset module
(:mod:`assets.stems`, :mod:`assets.stem_features`, ...) defines its step here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import dagster as dg


class PartitionFailed(Exception):
    """A track cannot get this asset (bad input, an upstream output missing or damaged); the
    message is the one line the user sees for it."""


class Track(Protocol):
    """What the batch runner needs of a track; the steps get the whole object."""

    partition_key: str


@dataclass(frozen=True)
class StepResult:
    """An asset computed for one track: its metadata, and its data version when the asset
    has a natural one (the stems: what they were separated from and with); otherwise it is
    derived from the code version and the inputs' data versions."""

    metadata: Mapping[str, Any] = field(default_factory=dict)
    data_version: str | None = None


#: Computes one track's asset: returns its result or raises as :attr:`TrackStep.run` does.
Compute = Callable[[], StepResult]
#: A step's batch hook: given the tracks to compute, yields each of them once, with what
#: computes it, in the order they become ready (the work shared by the tracks, such as model
#: calls, runs in between).
BatchHook = Callable[[Sequence[Any]], Iterator[tuple[Any, Compute]]]


@dataclass(frozen=True)
class TrackCheck:
    """An asset check evaluated for each track right after its asset."""

    name: str
    description: str
    evaluate: Callable[[Any], dg.AssetCheckResult]
    blocking: bool = False


@dataclass(frozen=True)
class TrackStep:
    """One track asset: its definition and how one track's partition is computed; with
    ``run_many``, how the batch's tracks are computed together (``run`` is then unused by
    :func:`run_batch`)."""

    name: str
    run: Callable[[Any], StepResult]
    code_version: str
    description: str
    deps: tuple[str, ...] = ()
    group_name: str | None = None
    kinds: frozenset[str] = frozenset()
    checks: tuple[TrackCheck, ...] = ()
    run_many: BatchHook | None = None

    def spec(self, partitions_def: dg.PartitionsDefinition) -> dg.AssetSpec:
        """The asset's spec in the batch's multi-asset (skippable: a failed track records
        nothing for it)."""
        return dg.AssetSpec(
            self.name,
            deps=list(self.deps),
            code_version=self.code_version,
            description=self.description,
            group_name=self.group_name,
            kinds=set(self.kinds),
            partitions_def=partitions_def,
            skippable=True,
        )

    def check_specs(self, partitions_def: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
        """The specs of the checks evaluated after this asset."""
        return [
            dg.AssetCheckSpec(
                c.name,
                asset=self.name,
                description=c.description,
                blocking=c.blocking,
                partitions_def=partitions_def,
            )
            for c in self.checks
        ]
