"""Data: the synthetic renderer, the file formats real datasets use, the datasets, and tools.

- :mod:`.synth`: the built-in renderer of clothed people with exact correspondence;
- :mod:`.formats`: CSVs, OpenPose JSON, label maps, images and video read and written;
- :mod:`.datasets`: synthetic, DeepFashion and VITON-style folders as tensor dicts;
- :mod:`.tools`: inspecting a folder, previews, writing synthetic data in real layouts.

Imports: ``clothflow.core`` and this package only (never models, training or apps).
"""
