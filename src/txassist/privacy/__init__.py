"""PII redaction and pseudonymous customer references: applied before anything is stored or leaves."""

from txassist.privacy.pseudonym import customer_ref
from txassist.privacy.redaction import redact, redact_log_event

__all__ = ["customer_ref", "redact", "redact_log_event"]
