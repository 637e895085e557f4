"""Training data: the procedural corpus (``synth``), real data (AMASS + BABEL) and the
shard dataset reader (``dataset``)."""
