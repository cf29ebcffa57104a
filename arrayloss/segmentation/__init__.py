"""Segmentation losses: overlap (Dice, Jaccard, Tversky, focal Tversky, generalized Dice),
the Lovász extensions of the Jaccard loss (hinge and softmax) and MONAI's compounds
(Dice + focal, Dice + cross entropy).

The overlap losses share one front end, written once (``_common``):

* ``mode="multiclass"``: ``input`` of shape (N, C, *spatial) holds one score per class,
  ``target`` holds class indices of shape (N, *spatial) (any integer dtype), or one-hot /
  soft probabilities of the input's shape; ``from_logits=True`` applies a softmax over
  the classes.
* ``mode="multilabel"``: one independent channel per class, ``target`` of the input's shape
  with values in [0, 1]; ``from_logits=True`` applies a sigmoid per channel.
* ``mode="binary"``: ``input`` of shape (N, 1, *spatial), ``target`` of that shape or of
  (N, *spatial); ``from_logits=True`` applies a sigmoid.

Statistics are summed over the spatial dimensions of each sample (``batch=False``) or over
the whole batch (``batch=True``), giving one loss per (sample, class) or per class, which
``reduction`` then averages or sums. ``ignore_index`` excludes pixels (index targets) or
elements (dense targets) from every sum. Any number of spatial dimensions is accepted; the
class axis is ``axis=1`` (``axis=-1`` for channels-last data).

Modules: ``_common`` (the front end, the per-class statistics and the shared parameter
text), ``_overlap``, ``_lovasz`` and ``_compound`` (Dice + focal, Dice + cross entropy).

MONAI (``monai.losses``) is the peer the overlap losses are tested against; each docstring
writes the option mapping. segmentation_models_pytorch users find ``mode``,
``from_logits`` and ``ignore_index`` under the same names.
"""

from ._compound import dice_ce_loss, dice_focal_loss
from ._lovasz import lovasz_hinge_loss, lovasz_softmax_loss
from ._overlap import (
    dice_loss,
    focal_tversky_loss,
    generalized_dice_loss,
    jaccard_loss,
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
