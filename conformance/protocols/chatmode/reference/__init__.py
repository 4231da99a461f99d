"""The reference Chat Mode server (`server.py`) and the defects and variants it serves."""
