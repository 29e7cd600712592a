"""What each component reports; ``/health/ready`` is 200 only when every required one is ok."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ComponentState = Literal["starting", "ok", "degraded", "failed"]


@dataclass
class Readiness:
    components: dict[str, tuple[ComponentState, str]] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)

    def set(self, name: str, state: ComponentState, detail: str = "", *, required: bool = True) -> None:
        self.components[name] = (state, detail)
        if required:
            self.required.add(name)

    @property
    def ready(self) -> bool:
        return all(self.components.get(name, ("starting", ""))[0] == "ok" for name in self.required)

    def report(self) -> dict[str, dict[str, str]]:
        return {name: {"state": s, "detail": d} for name, (s, d) in sorted(self.components.items())}
