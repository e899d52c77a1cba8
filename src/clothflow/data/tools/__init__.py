"""Tools on data folders: ``clothflow inspect``, previews, and writers of synthetic data.

Imports: ``clothflow.core`` and the rest of ``clothflow.data``.
"""
