"""Face animation: landmarks (MediaPipe's face mesh, the ``[pose]`` extra, imported lazily),
their motion, a dense thin-plate-spline warp, filling eyes and mouth, and the animator.

Imports: ``clothflow.core``, ``clothflow.data`` and the rest of ``clothflow.animate``.
"""
