"""Every training setting in one place: the loop's, ClothFlow's stages and losses, presets', ablations'.

- :class:`LoopConfig`: what every training run has and the shared loop reads (steps, batch
  size, learning rate, seed, budget, logging, checkpoints, workers, device); FiNet's
  :class:`clothflow.finet.config.FinetTrainConfig` extends it too.
- :class:`TrainConfig`: ClothFlow's runs: which stages, per-stage rates (:class:`StageRates`),
  the data, and the loss weights (:class:`LossConfig` with :class:`FlowLossWeights` and
  :class:`RenderLossWeights`).
- :func:`preset_training` and :func:`variant_training`: the ``TrainConfig`` overrides a
  preset or one of the paper's ablations trains with (``key=value``, as after ``--set train.``).

The command line changes any field with ``--set train.FIELD=VALUE``; a stored ``train.json``
is read back with :func:`clothflow.core.config.from_dict` (unknown keys ignored, missing
ones at their defaults).

Example:
    >>> from clothflow.core.config import apply_overrides
    >>> cfg = apply_overrides(TrainConfig(), preset_training("fast") + variant_training("no_style"))
    >>> cfg.learning_rate("flow"), cfg.learning_rate("layout"), cfg.loss.render.style
    (0.0004, 0.0032, 0.0)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from clothflow.core.errors import ClothflowError
from clothflow.models.config import PRESETS
from clothflow.models.variants import ABLATIONS

STAGES = ("layout", "flow", "render")


@dataclass
class FlowLossWeights:
    """Weights of the flow-stage losses (``smooth`` multiplies the sum over levels of the flows' TV).

    ``mask`` None takes the task's weight on real photos (:data:`FLOW_MASK_WEIGHT`) and
    :data:`SYNTHETIC_FLOW_MASK_WEIGHT` on the embedded synthetic people.
    """

    perceptual: float = 1.0
    mask: float | None = None
    smooth: float = 0.01

    def for_task(self, task: str, synthetic: bool = False) -> "FlowLossWeights":
        """These weights with the mask weight resolved for ``task`` ("transfer" or "tryon") and data."""
        if self.mask is not None:
            return self
        return dataclasses.replace(self, mask=SYNTHETIC_FLOW_MASK_WEIGHT if synthetic else FLOW_MASK_WEIGHT[task])


# The flow's mask term weighs 10 for try-on. The in-shop garment starts far from where it is
# worn; with mask weight 1 the flow learns to throw the garment out of the frame (warped mask
# empty, IoU 0 on VITON), because the perceptual term scores an empty image almost as well as a
# placed garment: on 16 VITON pairs at 128 x 96 the weight-free perceptual loss is 1.35 for
# the unwarped garment, 0.60 for a torso-affine placement and 0.65 for an empty image, while the
# mask term separates them by only 0.30 / 0.12 (``benchmarks/viton_warp.py``; the README's
# table). The source person's own cloth, which pose transfer moves, starts close to its target.
FLOW_MASK_WEIGHT = {"transfer": 1.0, "tryon": 10.0}
# On the synthetic people a garment is never thrown out of the frame, and weight 10 costs
# try-on its sleeves: the outline dominates the loss and a run may settle with the sleeves left
# on the torso (flow EPE 6.2 px against 1.7 at weight 1 in the demo's budget; README, "What the
# demo gives"). Both tasks train at 1 there.
SYNTHETIC_FLOW_MASK_WEIGHT = 1.0


@dataclass
class RenderLossWeights:
    """Weights of the render-stage losses; ``style=0`` disables the style term (the "no style" ablation).

    The style default (Gram matrices normalised by C * H * W) follows the order of magnitude of
    GFLA's VGG style weight; it is untuned here (no VGG19 weights were available to tune with).
    """

    l1: float = 1.0
    perceptual: float = 1.0
    style: float = 250.0


@dataclass
class LossConfig:
    """Loss weights of all stages.

    Args:
        layout_class_weighting: weight cross entropy by inverse class frequency in the batch.
        flow: weights of the flow stage's perceptual, mask and smoothness terms.
        render: weights of the renderer's L1, perceptual and style terms.
        vgg19: path to torchvision's vgg19 weights; empty = look in the usual places.
    """

    layout_class_weighting: bool = False
    flow: FlowLossWeights = field(default_factory=FlowLossWeights)
    render: RenderLossWeights = field(default_factory=RenderLossWeights)
    vgg19: str = ""


@dataclass
class StageRates:
    """Adam learning rates of single stages; 0 means the run's ``lr``.

    Narrow networks take larger steps well: at widths 16 the ``tiny`` and ``fast`` presets train
    their layout and render U-Nets best at 16 times ``paper``'s rate (see :func:`preset_training`).
    """

    layout: float = 0.0
    flow: float = 0.0
    render: float = 0.0


@dataclass
class LoopConfig:
    """The settings of every training run, read by :func:`clothflow.training.loop.run_steps`.

    Args:
        steps: optimisation steps (per stage, for ClothFlow).
        batch_size: samples per step: the global batch, split over data-parallel processes.
        lr: Adam learning rate (constant; betas 0.5, 0.999 as in pix2pix-style training).
        seed: seed of the initial weights, the data and the batch order.
        checkpoint_every: steps between checkpoints.
        log_every: steps between logged losses (TensorBoard and ``losses.jsonl``).
        workers: DataLoader worker processes per rank (0 = in the main process).
        device: "auto" (a GPU when CUDA is available, else the CPU), "cpu" or "cuda".
        bf16: bfloat16 autocast of the forward pass on GPUs (ignored on the CPU).
        minutes: wall-clock budget for the whole run (0 = none); training that runs out of
            time ends early and saves.
    """

    steps: int = 1000
    batch_size: int = 8
    lr: float = 2e-4
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 10
    workers: int = 0
    device: str = "auto"
    bf16: bool = False
    minutes: float = 0.0


@dataclass
class TrainConfig(LoopConfig):
    """How a ClothFlow run is trained: the :class:`LoopConfig` fields and these.

    Args:
        stage: "layout", "flow", "render" or "all" (the three in order).
        stage_lr: per-stage learning rates that replace ``lr`` where non-zero
            (``--set train.stage_lr.flow=4e-4``).
        data: "synthetic" (the embedded renderer) or a dataset folder.
        pairs: the folder's pair list (a path, or a name looked up in the folder and its
            parent); empty: the folder's own (``train/`` reads ``train_pairs.txt``).
        mirror: add the mirror image of every folder pair (left and right swapped; try-on
            folders and pose pair tables), doubling the training set.
        subset: a pose pair table's ``DATASET/SPLIT`` to train on (e.g. ``deepfashion/train``).
        all_views: a pose pair table's every two views of one person, not only its listed pairs.
        init: a model (shipped name or folder) whose weights start a new run: every tensor of
            the same name and shape is copied (pretraining, e.g. on the synthetic people).
        num_pairs: synthetic training pairs (drawn from ``seed``).
        loss: the loss weights.

    With ``minutes``, the budget left is shared equally by the stages still to train.
    """

    stage: str = "all"
    stage_lr: StageRates = field(default_factory=StageRates)
    data: str = "synthetic"
    pairs: str = ""
    mirror: bool = False
    subset: str = ""
    all_views: bool = False
    init: str = ""
    num_pairs: int = 2000
    loss: LossConfig = field(default_factory=LossConfig)

    def stages(self) -> tuple[str, ...]:
        """The stages this run trains, in order."""
        if self.stage == "all":
            return STAGES
        if self.stage not in STAGES:
            raise ClothflowError(f"unknown stage {self.stage!r}; choose layout, flow, render or all")
        return (self.stage,)

    def learning_rate(self, stage: str) -> float:
        """The Adam learning rate ``stage`` trains with."""
        return getattr(self.stage_lr, stage) or self.lr


# Training settings each preset is trained with unless told otherwise (TrainConfig fields, as
# after ``--set train.``). Widths-16 networks take much larger Adam steps than the paper's
# widths-64 ones; these rates are the best of a sweep at 64 x 44, 150 steps per stage
# (``benchmarks/fast_quality.py``; the README's table), and serve ``tiny`` as well.
_WIDTH16_RATES = ("stage_lr.layout=3.2e-3", "stage_lr.flow=4e-4", "stage_lr.render=3.2e-3")
_PRESET_TRAINING = {"fast": _WIDTH16_RATES, "tiny": _WIDTH16_RATES}

# The training side of the paper's ablations (their model side is in clothflow.models.variants).
_VARIANT_TRAINING = {"no_style": ("loss.render.style=0",)}


def preset_training(name: str) -> list[str]:
    """The ``TrainConfig`` overrides preset ``name`` trains with by default (``key=value``).

    Example:
        >>> preset_training("fast")[1]
        'stage_lr.flow=4e-4'
    """
    if name not in PRESETS:
        raise ClothflowError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return list(_PRESET_TRAINING.get(name, ()))


def variant_training(name: str) -> list[str]:
    """The ``TrainConfig`` overrides ablation ``name`` trains with (``key=value``; most have none).

    Example:
        >>> variant_training("no_style"), variant_training("tps")
        (['loss.render.style=0'], [])
    """
    if name not in ABLATIONS:
        raise ClothflowError(f"unknown variant {name!r}; choose one of: {', '.join(ABLATIONS)}")
    return list(_VARIANT_TRAINING.get(name, ()))
