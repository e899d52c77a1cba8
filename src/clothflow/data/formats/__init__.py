"""File formats of real datasets: keypoint CSVs and OpenPose JSON, label maps, images, video.

Imports: ``clothflow.core`` only.
"""
