"""Stage 2, cascaded clothing flow: where in the source each target pixel's cloth comes from.

Two feature pyramids with separate weights: a source pyramid over ``[c_s, m_s, s_s]`` (source
cloth, its mask, the source layout one-hot, + optional extras) and a target pyramid over the
target layout one-hot (+ optional extras). Level i (i = 1..L) is at 1/2^i resolution. The flow
is estimated coarse to fine (ClothFlow eq. 1-2)::

    F_L = E_L([S_L, T_L])
    F_i = U(F_{i+1}) + E_i([W(S_i, U(F_{i+1})), T_i])      i = L-1 .. 1

with ``U`` = :func:`~clothflow.core.ops.warp.upflow` (x2 nearest, values doubled) and ``W`` =
:func:`~clothflow.core.ops.warp.warp` (bilinear, zeros outside). Every flow is in pixels of its own
level, target -> source. The full-resolution flow is ``F_1`` upsampled x2 (the paper's
``c_s'' = W(c_s, U(F_1))``), bilinearly in the presets (``FlowConfig.final_upsampling``; nearest
leaves 2 x 2 steps in the flow, and a staircase along the warped garment's stripes and edges),
and the warped cloth and mask are the *unpadded* full-resolution source warped by it.

Sizes: the pyramid needs H and W divisible by :attr:`FlowNet.size_multiple` (2^L);
:meth:`FlowNet.forward` pads its inputs on the right/bottom (replicate) to that multiple and
crops the full-resolution flow back, which keeps pixel units valid. The per-level ``flows`` it
returns are at the padded level sizes. :meth:`FlowNet.cascade` works on already-divisible
inputs and raises ValueError otherwise.

``num_levels=1`` (the "no cascade" ablation): the encoders then have a stride-2 stem before
the single level, so the one flow is estimated at 1/4 resolution and upsampled x4 (values x4);
the size multiple is 4.

Example:
    >>> import torch
    >>> net = FlowNet(FlowConfig(base_channels=8, num_levels=3))
    >>> out = net(torch.zeros(1, 3, 30, 22), torch.zeros(1, 1, 30, 22), torch.zeros(1, 9, 30, 22), torch.zeros(1, 9, 30, 22))
    >>> out.flow.shape, [tuple(f.shape[-2:]) for f in out.flows]
    (torch.Size([1, 2, 30, 22]), [(4, 3), (8, 6), (16, 12)])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from clothflow.models.blocks import check_same_size, check_shape, optional_input, pad_to_multiple
from clothflow.core.ops.warp import upflow, warp


@dataclass
class FlowConfig:
    """Flow network configuration (JSON-serialisable with ``dataclasses.asdict``).

    Attributes:
        base_channels: pyramid width at level 1; level i has ``min(base * 2**(i-1), max_channels)``.
        num_levels: pyramid levels L (>= 1); 1 is the "no cascade" ablation at 1/4 resolution.
        num_classes: layout classes (one-hot channels of both layouts).
        source_extra_channels: extra source-side input channels (e.g. 3 for source IUV).
        target_extra_channels: extra target-side input channels (e.g. 3 for target IUV).
        max_channels: width cap of the pyramids and estimators.
        final_upsampling: how the finest flow is brought to full resolution: "bilinear"
            (smooth; the presets') or "nearest" (the paper's ``U``, in 2 x 2 steps; the default,
            so that a model saved before the field existed runs as it was scored). Inside the
            cascade ``U`` stays nearest, as the estimators were trained with it.
    """

    base_channels: int = 64
    num_levels: int = 4
    num_classes: int = 9
    source_extra_channels: int = 0
    target_extra_channels: int = 0
    max_channels: int = 256
    final_upsampling: str = "nearest"

    def __post_init__(self) -> None:
        if self.final_upsampling not in ("nearest", "bilinear"):
            raise ValueError(f"flow.final_upsampling must be nearest or bilinear, got {self.final_upsampling!r}")


@dataclass
class FlowOutput:
    """What the flow stage returns.

    Attributes:
        flows: per-level flows, coarse -> fine, each N x 2 x h_i x w_i in pixels of level i
            (padded level sizes when the input was padded).
        flow: N x 2 x H x W full-resolution flow in pixels, target -> source.
        warped_cloth: N x 3 x H x W, ``warp(src_cloth, flow)``.
        warped_mask: N x 1 x H x W, ``warp(src_mask, flow)``.
    """

    flows: list[torch.Tensor]
    flow: torch.Tensor
    warped_cloth: torch.Tensor
    warped_mask: torch.Tensor



# a pytree node, so torch.export / ONNX export can return it
torch.export.register_dataclass(FlowOutput, serialized_type_name="clothflow.FlowOutput")


def _conv_act(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1), nn.LeakyReLU(0.1))


class PyramidEncoder(nn.Module):
    """Feature pyramid: each level is a stride-2 conv and a conv (LeakyReLU 0.1, no norm).

    Args:
        in_channels: input channels.
        widths: channels of levels 1..L.
        stem: add a stride-2 stem before level 1 (level i then sits at 1/2^(i+1)).

    Shape:
        - Input: N x in_channels x H x W.
        - Output: list of L tensors, fine -> coarse, level i is N x widths[i-1] x H/2^i x W/2^i
          (H/2^(i+1) with the stem).
    """

    def __init__(self, in_channels: int, widths: list[int], stem: bool = False) -> None:
        super().__init__()
        self.stem = _conv_act(in_channels, widths[0], 2) if stem else nn.Identity()
        chans = [widths[0] if stem else in_channels, *widths]
        self.levels = nn.ModuleList(
            nn.Sequential(_conv_act(chans[i], chans[i + 1], 2), _conv_act(chans[i + 1], chans[i + 1])) for i in range(len(widths))
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        y = self.stem(x)
        for level in self.levels:
            y = level(y)
            feats.append(y)
        return feats


class FlowEstimator(nn.Module):
    """E_i: three 3 x 3 convs (LeakyReLU 0.1, no norm) -> 2-channel flow residual in pixels.

    The last conv starts small (normal, std 1e-3; zero bias) so the initial flow is ~0 while
    gradients still reach every earlier layer from the first step.

    Args:
        in_channels: channels of ``[S_i (warped), T_i]``.
        hidden: width of the first conv (the second has half).
    """

    def __init__(self, in_channels: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_act(in_channels, hidden), _conv_act(hidden, hidden // 2))
        self.out = nn.Conv2d(hidden // 2, 2, 3, padding=1)
        nn.init.normal_(self.out.weight, std=1e-3)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x))


class FlowNet(nn.Module):
    """Cascaded clothing-flow network (stage 2).

    Args:
        cfg: the configuration.
    """

    def __init__(self, cfg: FlowConfig) -> None:
        super().__init__()
        if cfg.num_levels < 1:
            raise ValueError(f"num_levels must be >= 1, got {cfg.num_levels}")
        self.config = cfg
        widths = [min(cfg.base_channels * 2**i, cfg.max_channels) for i in range(cfg.num_levels)]
        stem = cfg.num_levels == 1
        src_in = 3 + 1 + cfg.num_classes + cfg.source_extra_channels
        tgt_in = cfg.num_classes + cfg.target_extra_channels
        self.source_encoder = PyramidEncoder(src_in, widths, stem)
        self.target_encoder = PyramidEncoder(tgt_in, widths, stem)
        # estimators[i] serves level i + 1 (fine -> coarse, like the pyramids)
        self.estimators = nn.ModuleList(FlowEstimator(2 * c, max(min(2 * c, cfg.max_channels), 32)) for c in widths)
        self.finest_factor = 4 if stem else 2  # full resolution / level-1 resolution

    @property
    def size_multiple(self) -> int:
        """H and W of :meth:`cascade` inputs must be divisible by this (2^L, or 4 when L = 1)."""
        return self.finest_factor * 2 ** (self.config.num_levels - 1)

    def cascade(self, source: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
        """Coarse-to-fine flow estimation on divisible inputs.

        Args:
            source: N x (3 + 1 + C + E_s) x H x W, ``[src_cloth, src_mask, src_layout, src_extra]``.
            target: N x (C + E_t) x H x W, ``[tgt_layout, tgt_extra]``.

        Returns:
            Flows coarse -> fine, level i is N x 2 x H/2^i x W/2^i in pixels of that level.

        Raises:
            ValueError: if H or W is not divisible by :attr:`size_multiple`.
        """
        h, w = source.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(
                f"flow cascade input {h} x {w} is not divisible by {m} (FlowNet.size_multiple for "
                f"num_levels={self.config.num_levels}); "
                "pad it (FlowNet.forward does) or choose another size"
            )
        return self.refine(self.source_encoder(source), self.target_encoder(target))

    def forward(
        self,
        src_cloth: torch.Tensor,
        src_mask: torch.Tensor,
        src_layout: torch.Tensor,
        tgt_layout: torch.Tensor,
        src_extra: torch.Tensor | None = None,
        tgt_extra: torch.Tensor | None = None,
    ) -> FlowOutput:
        """Estimate the target -> source flow and warp the source cloth with it.

        Args:
            src_cloth: N x 3 x H x W source cloth in [-1, 1].
            src_mask: N x 1 x H x W source cloth mask in [0, 1].
            src_layout: N x C x H x W one-hot source layout.
            tgt_layout: N x C x H x W one-hot target layout.
            src_extra: N x E_s x H x W; required iff ``source_extra_channels > 0``.
            tgt_extra: N x E_t x H x W; required iff ``target_extra_channels > 0``.

        Returns:
            A :class:`FlowOutput`; any H x W works (padded inside, see the module notes).
        """
        cfg = self.config
        check_shape(src_cloth, 3, "src_cloth")
        check_shape(src_mask, 1, "src_mask")
        check_shape(src_layout, cfg.num_classes, "src_layout")
        check_shape(tgt_layout, cfg.num_classes, "tgt_layout")
        src_x = optional_input(src_extra, cfg.source_extra_channels, "src_extra")
        tgt_x = optional_input(tgt_extra, cfg.target_extra_channels, "tgt_extra")
        check_same_size(
            {
                "src_cloth": src_cloth,
                "src_mask": src_mask,
                "src_layout": src_layout,
                "tgt_layout": tgt_layout,
                "src_extra": src_extra,
                "tgt_extra": tgt_extra,
            }
        )
        h, w = src_cloth.shape[-2:]
        m = self.size_multiple
        source = pad_to_multiple(torch.cat([src_cloth, src_mask, src_layout, *src_x], dim=1), m)
        target = pad_to_multiple(torch.cat([tgt_layout, *tgt_x], dim=1), m)
        flows = self.cascade(source, target)
        flow = self.full_flow(flows, (h, w))
        return FlowOutput(flows=flows, flow=flow, warped_cloth=warp(src_cloth, flow), warped_mask=warp(src_mask, flow))

    # ---- the cascade in parts, for callers that reuse a source pyramid (animation) ------------
    def encode_source(self, src_cloth, src_mask, src_layout, src_extra=None) -> list[torch.Tensor]:
        """The source pyramid ``{S_1..S_L}`` (fine -> coarse) of the padded source input.

        One source serves many targets: encode it once, then :meth:`refine` for each target.
        Arguments as :meth:`forward`.
        """
        src_x = optional_input(src_extra, self.config.source_extra_channels, "src_extra")
        source = torch.cat([src_cloth, src_mask, src_layout, *src_x], dim=1)
        return self.source_encoder(pad_to_multiple(source, self.size_multiple))

    def encode_target(self, tgt_layout, tgt_extra=None) -> list[torch.Tensor]:
        """The target pyramid ``{T_1..T_L}`` (fine -> coarse) of the padded target input."""
        tgt_x = optional_input(tgt_extra, self.config.target_extra_channels, "tgt_extra")
        target = torch.cat([tgt_layout, *tgt_x], dim=1)
        return self.target_encoder(pad_to_multiple(target, self.size_multiple))

    def refine(self, src_feats: list[torch.Tensor], tgt_feats: list[torch.Tensor]) -> list[torch.Tensor]:
        """ClothFlow's eq. 1-2 on two pyramids: ``F_L = E_L([S_L, T_L])``, then each finer level
        adds ``E_i([W(S_i, U(F_{i+1})), T_i])`` to ``U(F_{i+1})``.

        Returns:
            Flows coarse -> fine, each N x 2 x h_i x w_i in pixels of its level.
        """
        flows: list[torch.Tensor] = []
        flow = None
        for s, t, estimate in zip(reversed(src_feats), reversed(tgt_feats), reversed(self.estimators)):
            if flow is None:
                flow = estimate(torch.cat([s, t], dim=1))
            else:
                up = upflow(flow)
                flow = up + estimate(torch.cat([warp(s, up), t], dim=1))
            flows.append(flow)
        return flows

    def full_flow(self, flows: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        """The finest flow brought to full resolution (``U(F_1)``) and cropped to ``size`` (H, W)."""
        return upflow(flows[-1], self.finest_factor, mode=self.config.final_upsampling)[..., : size[0], : size[1]]
