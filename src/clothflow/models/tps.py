"""Stage 2 replaced by a thin-plate-spline warp (the paper's "TPS" ablation, after CP-VTON).

A regression network looks at the source (cloth, mask, layout) and the target (layout) and
predicts where a G x G grid of control points of the target lands in the source (offsets
bounded by tanh to the image's normalised extent); a TPS through those points gives a dense,
smooth target -> source flow. The TPS is the textbook one, as CP-VTON's grid generator has
it: its kernels sit on the fixed target grid, so the linear system it solves does not depend
on the predicted points and stays well conditioned whatever they are. (kornia's
``get_tps_transform`` centres its kernels on the moving points, so its system is
ill-conditioned once two of them come close; on VITON a training with it ended with flows of
millions of pixels.) The offsets start at zero, so the initial warp is the identity. The
output is the flow stage's :class:`~clothflow.models.flow.FlowOutput`, so losses and
rendering work unchanged.

Example:
    >>> import torch
    >>> net = TPSWarpNet(FlowConfig(base_channels=8, num_levels=4))
    >>> out = net(torch.zeros(1, 3, 64, 44), torch.zeros(1, 1, 64, 44), torch.zeros(1, 9, 64, 44), torch.zeros(1, 9, 64, 44))
    >>> out.flow.shape, float(out.flow.detach().abs().max()) < 1e-3
    (torch.Size([1, 2, 64, 44]), True)
"""

from __future__ import annotations

import torch
import torch.nn as nn

from clothflow.models.blocks import check_same_size, check_shape, optional_input
from clothflow.models.flow import FlowConfig, FlowOutput, PyramidEncoder
from clothflow.core.ops.warp import coords_grid, warp


def control_grid(grid_size: int, n: int = 1, device=None, dtype=torch.float32) -> torch.Tensor:
    """A regular grid of control points in normalised coordinates [-1, 1]: N x G*G x 2 (x, y)."""
    t = torch.linspace(-1, 1, grid_size, device=device, dtype=dtype)
    ys, xs = torch.meshgrid(t, t, indexing="ij")
    return torch.stack((xs.flatten(), ys.flatten()), -1).unsqueeze(0).expand(n, -1, -1)


def _tps_basis(points: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """N x P x (K + 3): the TPS kernel r^2 log r^2 to each of K centres, then 1, x, y."""
    d2 = (points[:, :, None] - centres[:, None]).pow(2).sum(-1)
    kernel = d2 * torch.log(d2.clamp(min=1e-12))
    return torch.cat([kernel, torch.ones_like(points[..., :1]), points], -1)


def tps_flow(target_points: torch.Tensor, source_points: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Dense pixel flow of the TPS that sends ``target_points`` to ``source_points``.

    The spline's kernels are centred on ``target_points`` (the fixed grid), so the system
    solved depends on them alone; the flow is linear in ``source_points``.

    Args:
        target_points, source_points: N x K x 2 control points, normalised (x, y) in [-1, 1]
            (align_corners=True: -1 and 1 are the centres of the first and last pixels).
        size: (H, W) of the flow.

    Returns:
        N x 2 x H x W flow in pixels, target -> source.
    """
    n, k = target_points.shape[:2]
    h, w = size
    top = _tps_basis(target_points, target_points)  # N x K x (K + 3)
    bottom = torch.cat([top[..., k:].transpose(1, 2), top.new_zeros(n, 3, 3)], -1)
    weights = torch.linalg.solve(torch.cat([top, bottom], 1), torch.cat([source_points, top.new_zeros(n, 3, 2)], 1))
    pix = coords_grid(n, h, w, target_points.device, target_points.dtype)
    scale = torch.tensor([max(w - 1, 1) / 2, max(h - 1, 1) / 2], device=pix.device, dtype=pix.dtype)
    norm = pix.flatten(2).transpose(1, 2) / scale - 1  # N x HW x 2
    mapped = _tps_basis(norm, target_points) @ weights
    src_pix = ((mapped + 1) * scale).transpose(1, 2).reshape(n, 2, h, w)
    return src_pix - pix


class TPSWarpNet(nn.Module):
    """Regresses a TPS warp; a drop-in for :class:`~clothflow.models.flow.FlowNet`.

    Args:
        cfg: the flow stage's config (widths, levels = encoder depth, classes, extras).
        grid_size: control points per side.
    """

    def __init__(self, cfg: FlowConfig, grid_size: int = 5) -> None:
        super().__init__()
        self.config, self.grid_size = cfg, grid_size
        widths = [min(cfg.base_channels * 2**i, cfg.max_channels) for i in range(max(cfg.num_levels, 2))]
        self.source_encoder = PyramidEncoder(3 + 1 + cfg.num_classes + cfg.source_extra_channels, widths)
        self.target_encoder = PyramidEncoder(cfg.num_classes + cfg.target_extra_channels, widths)
        hidden = 2 * widths[-1]
        self.regressor = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.LeakyReLU(0.1),
            nn.AdaptiveAvgPool2d((4, 4)), nn.Flatten(),
            nn.Linear(hidden * 16, 256), nn.LeakyReLU(0.1),
            nn.Linear(256, 2 * grid_size * grid_size),
        )
        nn.init.zeros_(self.regressor[-1].weight)
        nn.init.zeros_(self.regressor[-1].bias)

    def forward(self, src_cloth, src_mask, src_layout, tgt_layout, src_extra=None, tgt_extra=None) -> FlowOutput:
        """Same inputs and output as :meth:`FlowNet.forward`; ``flows`` holds the one flow."""
        cfg = self.config
        check_shape(src_cloth, 3, "src_cloth")
        check_shape(src_mask, 1, "src_mask")
        check_shape(tgt_layout, cfg.num_classes, "tgt_layout")
        check_same_size({"src_cloth": src_cloth, "src_mask": src_mask, "src_layout": src_layout, "tgt_layout": tgt_layout})
        source = torch.cat([src_cloth, src_mask, src_layout, *optional_input(src_extra, cfg.source_extra_channels, "src_extra")], 1)
        target = torch.cat([tgt_layout, *optional_input(tgt_extra, cfg.target_extra_channels, "tgt_extra")], 1)
        feats = torch.cat([self.source_encoder(source)[-1], self.target_encoder(target)[-1]], 1)
        n = src_cloth.shape[0]
        # bounded as in CP-VTON's regressor (tanh): an unbounded head can throw control points
        # far outside the image, where the TPS solve blows up
        offsets = torch.tanh(self.regressor(feats)).view(n, -1, 2)
        target_points = control_grid(self.grid_size, n, src_cloth.device, src_cloth.dtype)
        flow = tps_flow(target_points, target_points + offsets, tuple(src_cloth.shape[-2:]))
        return FlowOutput(flows=[flow], flow=flow, warped_cloth=warp(src_cloth, flow), warped_mask=warp(src_mask, flow))
