"""Fuzzing: hypothesis-driven inputs against a server, with findings that replay."""

from conformance.fuzz.findings import Finding, Step, load_finding, save_finding
from conformance.fuzz.judgement import Judgement, Tally, broken, lenient, observed, worst
from conformance.fuzz.runner import Budget, LoopBridge, fuzz

__all__ = [
    "Budget",
    "Finding",
    "Judgement",
    "LoopBridge",
    "Step",
    "Tally",
    "broken",
    "fuzz",
    "lenient",
    "load_finding",
    "observed",
    "save_finding",
    "worst",
]
