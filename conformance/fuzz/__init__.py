"""Fuzzing: hypothesis-driven inputs against a server, with findings that replay."""

from conformance.fuzz.findings import Finding, Step, load_finding, save_finding
from conformance.fuzz.runner import Budget, LoopBridge, fuzz

__all__ = ["Budget", "Finding", "LoopBridge", "Step", "fuzz", "load_finding", "save_finding"]
