"""Conformance test suite for real-time voice-AI chat servers."""

__all__ = ["__version__"]

__version__ = "0.1.0"
