"""Downstream metrics: what survives a codec for downstream models (ASR WER/CER, speaker EER/similarity).

Original-side work (transcripts and speaker embeddings of the originals) is cached per suite and
model in the context's ``cache_dir`` and reused by every codec run.
"""
