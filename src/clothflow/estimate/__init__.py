"""What the models need from one photo, estimated: keypoints (MediaPipe), a person mask, a parsing.

Imports: models, data and core; used by apps and animate.
"""
