"""A seeded 2000-case slice of the structural fuzzer (benchmarks/fuzz_lgi.py) over every reader of .lgi files."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import fuzz_lgi


def test_two_thousand_structural_cases_keep_the_promise():
    """Reader, Pillow, ``lgi info`` and ``lgi decode``, in two capped children (512 MiB, 30 s a case)."""
    report = fuzz_lgi.run(2000, seed=17, workers=2)
    assert report.cases == 2000
    assert report.failures == []
    assert report.crc_stops < 0.1 * report.cases  # the cases reach the parsers behind the checksums
    targets = {target for _, target, _ in report.verdicts}
    verdicts = {verdict for _, _, verdict in report.verdicts}
    assert targets == set(fuzz_lgi.TARGETS)
    assert verdicts == {"ok", "refused"}
