"""`conformance run --protocol evi` as a user runs it: the embedded EVI reference, every case."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

from conformance import protocols
from conformance.reports import validate_report
from tests.catalogue import listed_ids
from tests.selftest.runs import conformance

# The embedded run takes about 10 s here; a run far slower is a regression worth a look.
SLOW_S = 60


def test_embedded_evi_reference_passes_every_case(tmp_path: Path) -> None:
    """With no URL the embedded EVI reference is tested: every case PASS, every report written."""
    run = conformance(tmp_path, "--protocol", "evi", timeout=240)
    assert run.code == 0, run.stdout[-3000:] + run.stderr
    report = run.report
    assert validate_report(report) == []
    wrong = {i: v for i, v in run.verdicts().items() if v != "PASS"}
    assert not wrong, run.stdout[-3000:]
    assert report["summary"]["total"] == len(protocols.plugin("evi").catalogue())
    assert list(run.verdicts().items()) == [(i, "PASS") for i in listed_ids("evi")]
    assert report["target"]["embedded"] is True
    assert report["duration_s"] < SLOW_S
    junit = ElementTree.parse(run.report_dir / "junit.xml").getroot()
    suite = junit.find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", "0")) == report["summary"]["total"]
    html = (run.report_dir / "report.html").read_text()
    assert "EVI-AUD-001[pcm-1021b]" in html
    assert list((run.report_dir / "audio").glob("evi-*.wav")), "the answers' audio is kept"


def test_list_shows_the_evi_catalogue() -> None:
    """`conformance list --protocol evi` prints every EVI case id."""
    listed = subprocess.run(
        [sys.executable, "-m", "conformance", "list", "--protocol", "evi"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    for case in protocols.plugin("evi").catalogue():
        assert case.id in listed
