"""Partitions checked on separate worker processes by Dask merge to exactly one run's figures."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from bench.generate import generate
from checker.audit.partitions import audit_partition, merge, summary

AS_OF = "2025-06-01T00:00:00+00:00"


def test_partitions_by_month_merge_exactly(tmp_path: Path) -> None:
    dask_bag = pytest.importorskip("dask.bag")
    by_quarter: dict[str, list[str]] = defaultdict(list)
    for incident in generate(600, 3):
        month = int(incident["reported_at"][5:7])
        by_quarter[f"q{(month - 1) // 3}"].append(json.dumps(incident))
    files = []
    for name, lines in sorted(by_quarter.items()):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        files.append(str(path))
    assert len(files) >= 3

    bag = dask_bag.from_sequence([[f] for f in files], npartitions=len(files))
    tallies = bag.map(audit_partition, AS_OF).compute(scheduler="processes", num_workers=2)
    merged = summary(merge(tallies), AS_OF, files)
    single = summary(audit_partition(files, AS_OF), AS_OF, files)

    assert merged["counts"] == single["counts"] and merged["counts"]["checked"] == 600
    assert merged["figures"] == single["figures"]
    assert merged["periods"] == single["periods"] and len(merged["periods"]) >= 3
    assert merged["findings"] == single["findings"]
