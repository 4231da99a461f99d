"""The reference EVI server: `server.reference_app`, its faults and variants (ARCHITECTURE.md)."""
