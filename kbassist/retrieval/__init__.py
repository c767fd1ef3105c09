"""Hybrid retrieval: BM25 (keywords) and FAISS (dense vectors), fused by reciprocal rank."""
