"""Generation backends: ``extractive`` (no model), ``openai`` (HTTP) and ``local`` (xllamacpp)."""
