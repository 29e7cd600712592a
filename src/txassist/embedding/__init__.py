"""The sentence embedding every capability shares: one forward pass per turn."""

from txassist.embedding.batcher import EmbeddingBatcher
from txassist.embedding.encoder import TextEncoder, default_model_path

__all__ = ["EmbeddingBatcher", "TextEncoder", "default_model_path"]
