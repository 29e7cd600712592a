"""Versioned Jinja prompt templates from ``prompts/``.

A template file is named ``<name>.v<N>.j2`` (for example ``draft_reply.chat.v1.j2``); the highest
version wins and its full name (``draft_reply.chat.v1``) is recorded with every output. A rendered
template holds the system message, a line ``### user``, then the user message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from txassist.drafting import llm_context
from txassist.drafting.backends.base import ChatMessage
from txassist.drafting.planning import latest_file

_NAME = re.compile(r"^(?P<name>[a-z_.]+)\.v(?P<version>\d+)\.j2$")
_USER_MARK = "### user"
# Fence markers inside untrusted text are defused so that text cannot close its own fence.
_FENCE_CHARS = re.compile(r"<{3,}|>{3,}")


def defuse(text: str) -> str:
    return _FENCE_CHARS.sub("", text)


def reply_acts(directory: Path) -> dict[str, object]:
    """The acts of the newest ``reply_plan.v<N>.json`` in ``directory`` (empty when there is none)."""
    try:
        path = latest_file(directory, "reply_plan")
    except FileNotFoundError:
        return {}
    acts: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))["acts"]
    return acts


@dataclass(frozen=True)
class RenderedPrompt:
    version: str
    messages: list[ChatMessage]


class PromptLibrary:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory)),
            autoescape=False,  # noqa: S701 - prompts are plain text for a model, never HTML
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["defuse"] = defuse
        self._env.filters["focus"] = llm_context.focus
        # The acts' standing rules go into the shared system prompt, so a turn's plan is one line.
        self._env.globals["reply_acts"] = reply_acts(directory)
        self._latest = self._scan()

    def _scan(self) -> dict[str, tuple[int, str]]:
        latest: dict[str, tuple[int, str]] = {}
        for path in sorted(self.directory.glob("*.j2")):
            match = _NAME.match(path.name)
            if match is None:
                continue
            name, version = match["name"], int(match["version"])
            if name not in latest or version > latest[name][0]:
                latest[name] = (version, path.name)
        return latest

    def names(self) -> list[str]:
        return sorted(self._latest)

    def version_of(self, name: str) -> str:
        version, _ = self._latest[name]
        return f"{name}.v{version}"

    def render(self, name: str, **context: object) -> RenderedPrompt:
        if name not in self._latest:
            raise KeyError(f"no prompt template named {name!r} in {self.directory}")
        version, filename = self._latest[name]
        text = self._env.get_template(filename).render(**context)
        system, _, user = text.partition(_USER_MARK)
        messages: list[ChatMessage] = [
            {"role": "system", "content": system.strip()},
            {"role": "user", "content": user.strip()},
        ]
        return RenderedPrompt(version=f"{name}.v{version}", messages=messages)
