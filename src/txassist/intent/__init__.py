"""Customer intents per turn (cancel the service, complain, ask for a human, ...), model first, rules explain."""

from txassist.intent.detector import IntentDetector
from txassist.intent.schemas import INTENT_LABELS, Intents

__all__ = ["INTENT_LABELS", "IntentDetector", "Intents"]
