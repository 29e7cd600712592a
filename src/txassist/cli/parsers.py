"""The type each command module's ``register`` receives."""

from __future__ import annotations

import argparse
from typing import TypeAlias

# What ``ArgumentParser.add_subparsers`` returns; typeshed names it, argparse keeps it private.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
