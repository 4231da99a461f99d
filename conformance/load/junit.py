"""load-junit.xml: a load run for CI, read from load.json's data.

One test case per SLO (failed when breached), one per clause a turn broke (failed for a MUST,
passed with its verdict as a property for a SHOULD or a MAY, as `conformance run` counts them),
and one that says how many turns were judged (failed when none was).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["LOAD_JUNIT", "write_load_junit"]

LOAD_JUNIT = "load-junit.xml"


def _case(
    suite: ET.Element, name: str, classname: str, properties: Mapping[str, Any]
) -> ET.Element:
    case = ET.SubElement(suite, "testcase", name=name, classname=classname, time="0")
    props = ET.SubElement(case, "properties")
    for key, value in properties.items():
        ET.SubElement(props, "property", name=key, value=str(value))
    return case


def write_load_junit(report: Mapping[str, Any], directory: Path) -> Path:
    suite = ET.Element("testsuite", name=f"conformance load ({report['protocol']})")
    summary = report["summary"]
    turns = _case(
        suite,
        "turns judged",
        "load",
        {"turns": summary["turns"], "turns_per_s": summary["turns_per_s"]},
    )
    if summary["turns"] == 0:
        ET.SubElement(turns, "failure", message="no turn was played")
    for slo in report["slo"]:
        case = _case(
            suite,
            f"SLO {slo['name']}",
            "load.slo",
            {"objective": slo["objective"], "measured": slo["measured"], "verdict": slo["verdict"]},
        )
        if slo["verdict"] != "PASS":
            ET.SubElement(case, "failure", message=slo["message"])
    for clause in report["violations"]:
        case = _case(
            suite,
            clause["id"],
            "load.clauses",
            {"level": clause["level"], "verdict": clause["verdict"], "clause": clause["clause"]},
        )
        example = clause["examples"][0] if clause["examples"] else {}
        message = f"{clause['turns']} of {summary['turns']} turns: {example.get('message', '')}"
        if clause["level"] == "MUST":
            failure = ET.SubElement(case, "failure", message=message)
            failure.text = (
                f"clause: {clause['clause']}\nexpected: {example.get('expected', '')}\n"
                f"observed: {example.get('observed', '')}"
            )
        else:
            ET.SubElement(case, "system-out").text = message
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", "0")
    suite.set("time", str(report["duration_s"]))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOAD_JUNIT
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
