"""Non-learned warps the flow stage is measured against.

Example:
    >>> import torch
    >>> mask = torch.zeros(1, 1, 64, 44); mask[..., 8:40, 6:38] = 1
    >>> kps = torch.full((1, 18, 2), -1.0)
    >>> kps[0, [1, 2, 5, 8, 11]] = torch.tensor([[22., 14.], [16., 15.], [28., 15.], [18., 34.], [26., 34.]])
    >>> torso_affine_flow(mask, kps).shape
    torch.Size([1, 2, 64, 44])
"""

from __future__ import annotations

import torch

from clothflow.core.ops.pose import KP
from clothflow.core.ops.warp import coords_grid

_TORSO = (KP["neck"], KP["r_shoulder"], KP["l_shoulder"], KP["r_hip"], KP["l_hip"])


def torso_affine_flow(cloth_mask: torch.Tensor, person_pose: torch.Tensor, height_ratio: float = 1.15) -> torch.Tensor:
    """The in-shop garment placed on the person without warping: scaled and centred on the torso.

    The garment's bounding box is scaled (same factor on both axes) so that its height is
    ``height_ratio`` times the neck-to-hip distance, and centred on the torso keypoints.
    Where the torso keypoints are missing, the garment stays where it is (zero flow).

    Args:
        cloth_mask: N x 1 x H x W in-shop garment mask.
        person_pose: N x 18 x 2 person keypoints in pixels (-1 missing).

    Returns:
        N x 2 x H x W flow in pixels, person -> garment image (backward warping).
    """
    n, _, h, w = cloth_mask.shape
    flows = torch.zeros(n, 2, h, w, dtype=cloth_mask.dtype, device=cloth_mask.device)
    grid = coords_grid(1, h, w, cloth_mask.device, cloth_mask.dtype)[0]
    for i in range(n):
        pts = person_pose[i, list(_TORSO)]
        ys, xs = torch.nonzero(cloth_mask[i, 0] > 0.5, as_tuple=True)
        if (pts < 0).any() or len(xs) == 0:
            continue
        g_centre = torch.stack([(xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2]).to(flows.dtype)
        g_height = float(ys.max() - ys.min() + 1)
        neck, hips = pts[0], (pts[3] + pts[4]) / 2
        t_centre = pts.mean(0)
        scale = height_ratio * float((hips - neck).norm()) / g_height  # garment pixels -> person pixels
        if scale <= 0:
            continue
        source = (grid - t_centre.view(2, 1, 1)) / scale + g_centre.view(2, 1, 1)
        flows[i] = source - grid
    return flows
