"""Reporters: thin writers of engine results (report.json, report.html); they never run a case.

`build_report` turns `CaseResult`s into report data (format "conformance-report" v1, described
by `report.schema.json`); `write_json` and `write_html` write it into a report folder.
"""

from conformance.reports.html import render_html, write_html
from conformance.reports.json import (
    REPORT_FORMAT,
    REPORT_VERSION,
    build_report,
    case_record,
    load_report_schema,
    validate_report,
    write_json,
)

__all__ = [
    "REPORT_FORMAT",
    "REPORT_VERSION",
    "build_report",
    "case_record",
    "load_report_schema",
    "render_html",
    "validate_report",
    "write_html",
    "write_json",
]
