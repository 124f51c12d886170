"""Scoring models: the evaluation protocol that `srlab eval`, `srlab sweep` and validation during
training share (`protocol`), a model against bicubic on a folder of photos (`benchmark`), and a
noise-driven model over its noise amplitudes (`sweep`)."""
