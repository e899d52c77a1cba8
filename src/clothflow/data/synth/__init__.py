"""The synthetic renderer: bodies, garments, textures, poses and motion, drawn with exact flow.

Imports: ``clothflow.core`` only.
"""
