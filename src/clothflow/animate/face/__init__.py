"""Face animation: landmarks (MediaPipe's face mesh, the ``[pose]`` extra, imported lazily),
their motion, a dense thin-plate-spline warp, filling eyes and mouth, and the animator (mode 1);
the face mesh as a turning 3-D surface, head pose and its measures, and the head-turning
animator (mode 2: ``mesh``, ``headpose``, ``motion3d``, ``turn``); ``stream``, the per-frame loop
both modes share.

Imports: ``clothflow.core``, ``clothflow.data`` and the rest of ``clothflow.animate``.
"""
