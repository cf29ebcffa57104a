"""Embedding, ranking and contrastive losses.

``margin_ranking_loss``, ``hinge_embedding_loss``, ``cosine_embedding_loss``,
``triplet_margin_loss`` and ``triplet_margin_with_distance_loss`` have torch's names,
arguments, defaults and results. ``contrastive_loss`` is the pairwise loss of Hadsell, Chopra
& LeCun (2006) and ``info_nce_loss`` the NT-Xent / InfoNCE loss of SimCLR (Chen et al.,
2020), which agrees with ``optax.losses.ntxent`` on paired views.

Pairs and triplets are in ``_pairs.py``, the contrastive losses in ``_contrastive.py``.
Distances come from ``arrayloss._lib._distance``: torch's ``eps`` added to the difference and
a double-``where`` norm, so identical embeddings have finite gradients. Hinges are
``where(z >= 0, z, 0)``: torch's ``clamp_min`` passes the gradient at the kink, and so do we.
"""

from ._contrastive import contrastive_loss, info_nce_loss
from ._pairs import (
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)

__all__ = [
    "contrastive_loss",
    "cosine_embedding_loss",
    "hinge_embedding_loss",
    "info_nce_loss",
    "margin_ranking_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]

# The public home of each loss is this package, not its private module (as numpy's set_module).
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
