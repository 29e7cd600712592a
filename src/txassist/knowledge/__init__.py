"""The knowledge base: load, chunk, embed, index (FAISS + BM25) and search with citations."""
