"""Pure tensor functions of the data contract, shared by data, models and losses.

Labels (LIP ids -> model classes), pose keypoints and heatmaps, the try-on agnostic person,
a coarse parsing map drawn from a pose, backward warping and flow resampling, SSIM.

Imports: ``clothflow.core`` only.
"""
