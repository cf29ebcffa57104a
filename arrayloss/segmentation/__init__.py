"""Segmentation losses (the family's code is in ``_overlap`` until it is split by topic)."""

from ._overlap import (
    dice_ce_loss,
    dice_focal_loss,
    dice_loss,
    focal_tversky_loss,
    generalized_dice_loss,
    jaccard_loss,
    lovasz_hinge_loss,
    lovasz_softmax_loss,
    tversky_loss,
)

__all__ = [
    "dice_ce_loss",
    "dice_focal_loss",
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "tversky_loss",
]

# The public home of each loss is this package, not its private module (as numpy's set_module).
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
