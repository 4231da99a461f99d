"""Load mode: many concurrent scripted sessions, every turn judged by the catalogue's cases.

`model.py` is what a protocol plug-in supplies (`ProtocolPlugin.load_script`); `turns.py`
opens a session and plays one judged turn; `runner.py` runs N sessions on one asyncio loop
(`conformance load`, `command.py`); `locustfile.py` runs the same sessions as Locust users.
Nothing here names a protocol. This module imports nothing, so that a plug-in importing
`conformance.protocols.load` pulls in neither the runner nor Locust.
"""
