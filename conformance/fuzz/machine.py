"""The plumbing every protocol's state machine shares (`protocols/<protocol>/machine.py`).

Hypothesis runs the machine in a worker thread; its rules talk to the server through
coroutines, each handed back to the case's event loop (`LoopBridge`). Each rule notes its step
(JSON, so that a finding's rule sequence replays: `runner.replay_rules`), and the first broken
invariant is the finding (`Clock.broken` keeps the smallest failing sequence).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

from hypothesis.stateful import RuleBasedStateMachine

from conformance.fuzz.runner import Clock, LoopBridge, ProtocolBroken

__all__ = ["ProtocolMachine"]

T = TypeVar("T")


class ProtocolMachine(RuleBasedStateMachine):
    """A state machine over a live server. A protocol binds its own (a class per target and
    budget) as `class Chat(ProtocolMachine, bridge=bridge, clock=clock, wait=seconds)`, `wait`
    being the longest one coroutine may take; its rules and oracle are its own."""

    bridge: ClassVar[LoopBridge]
    clock: ClassVar[Clock]
    wait: ClassVar[float]

    def __init_subclass__(
        cls, *, bridge: LoopBridge, clock: Clock, wait: float, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.bridge, cls.clock, cls.wait = bridge, clock, wait

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[dict[str, Any]] = []
        self.broken = False

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.bridge.run(coroutine, timeout=self.wait)

    def _note(self, rule_name: str, **args: Any) -> None:
        self.steps.append({"rule": rule_name, **args})

    def _broken(self, message: str) -> ProtocolBroken:
        self.broken = True  # teardown then adds nothing: the first break is the finding
        return self.clock.broken(self.steps, message)
