"""Target profiles: what the protocol documents leave to each implementation."""

from conformance.profiles.loader import Profile, ProfileError, load_profile, merge

__all__ = ["Profile", "ProfileError", "load_profile", "merge"]
