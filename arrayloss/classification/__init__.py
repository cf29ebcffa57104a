"""Classification and probabilistic losses: cross entropy and its relatives.

Softmax losses (``cross_entropy``, ``nll_loss``, ``focal_loss``, ``poly1_cross_entropy``;
``_softmax.py``) take scores of shape ``(N, C, d1, ..., dK)`` (or an unbatched ``(C,)``)
with the class dimension at ``axis=1`` like torch (``axis=-1`` for channels-last), and
either class-index targets of any integer dtype, of the input's shape without the class
dimension, or class probabilities of the input's shape. Sigmoid losses
(``binary_cross_entropy*``, ``sigmoid_focal_loss``) and ``kl_div`` are elementwise
(``_binary.py``). ``linear_cross_entropy`` is cross entropy of a linear projection, in row
chunks (``_linear.py``, ``_linear_passes.py``). Names, arguments, defaults and results are
torch's (torchvision's for ``sigmoid_focal_loss``).
"""

from ._binary import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    kl_div,
    sigmoid_focal_loss,
)
from ._linear import linear_cross_entropy
from ._softmax import cross_entropy, focal_loss, nll_loss, poly1_cross_entropy

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "focal_loss",
    "kl_div",
    "linear_cross_entropy",
    "nll_loss",
    "poly1_cross_entropy",
    "sigmoid_focal_loss",
]

# The public home of each loss is this package, not its private module (as numpy's set_module).
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
