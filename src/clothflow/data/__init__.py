"""Datasets and the formats they share: poses, human-parsing labels, the synthetic renderer."""
