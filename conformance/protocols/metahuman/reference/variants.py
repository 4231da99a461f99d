"""Legitimate variants of the reference server (`conformance serve --variant NAME`).

Each reads an [open] point of PROTOCOLS.md another way than the reference's [default]; every
case must pass against it with the variant's profile (tests/selftest/test_variant_matrix.py).
The server reads `variants.active(VARIANT)` at the one place each acts.
"""

from __future__ import annotations

from conformance.protocols.variants import ActiveVariants, ServerVariant, VariantRegistry

__all__ = ["VARIANTS", "ActiveVariants", "ServerVariant"]

VARIANTS = VariantRegistry()
