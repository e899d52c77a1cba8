"""Animate one photo: a body (:mod:`.body`) or a face (:mod:`.face`) driven by a video or a pose sequence.

- :mod:`.retarget`: driving keypoints -> the source's skeleton, One-Euro smoothing;
- :mod:`.driving`: driving sources (video, poses.json, OpenPose folders, camera, synthetic motion);
- :mod:`.body`: the per-frame pose-transfer driver with temporal reuse;
- :mod:`.cli`: the ``clothflow animate`` command.

Imports: ``clothflow.core``, ``clothflow.data``, ``clothflow.models`` and ``clothflow.evaluation``;
never ``clothflow.apps`` or ``clothflow.finet``.
"""
