"""Target profiles: what the protocol documents leave to each implementation.

This package never imports `conformance.protocols`: the caller hands the loader the protocol's
profiles (`ProtocolProfile`), so the engine can import profiles without the registry.
"""

from conformance.profiles.loader import (
    DEFAULT_PROTOCOL,
    Profile,
    ProfileError,
    ProtocolProfile,
    load_profile,
    merge,
    profile_protocol,
    profile_url,
)
from conformance.profiles.timeouts import Timeout, Timeouts

__all__ = [
    "DEFAULT_PROTOCOL",
    "Profile",
    "ProfileError",
    "ProtocolProfile",
    "Timeout",
    "Timeouts",
    "load_profile",
    "merge",
    "profile_protocol",
    "profile_url",
]
