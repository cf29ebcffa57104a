"""arrayloss: loss functions written once against the Python array API standard.

Call a loss on the arrays you have (NumPy, PyTorch, JAX, CuPy, Dask, array-api-strict) and
get the result in the same library, on the same device, differentiable by that library's
autodiff. Names, arguments and results follow ``torch.nn.functional``.
"""

from . import nn, testing
from ._lib._options import get_options, options, set_options
from .classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    focal_loss,
    kl_div,
    linear_cross_entropy,
    nll_loss,
    poly1_cross_entropy,
    sigmoid_focal_loss,
)
from .embedding import (
    contrastive_loss,
    cosine_embedding_loss,
    hinge_embedding_loss,
    info_nce_loss,
    margin_ranking_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from .generative import (
    gradient_penalty,
    wasserstein_critic_loss,
    wasserstein_distance_1d,
    wasserstein_generator_loss,
)
from .margin import (
    categorical_hinge_loss,
    hinge_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    soft_margin_loss,
    squared_hinge_loss,
)
from .regression import (
    gaussian_nll_loss,
    huber_loss,
    l1_loss,
    log_cosh_loss,
    mape_loss,
    mse_loss,
    msle_loss,
    poisson_nll_loss,
    quantile_loss,
    rmse_loss,
    smooth_l1_loss,
)
from .segmentation import (
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
from .sequence import adaptive_log_softmax_loss, ctc_loss

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "adaptive_log_softmax_loss",
    "ctc_loss",
    "focal_loss",
    "kl_div",
    "nll_loss",
    "poly1_cross_entropy",
    "sigmoid_focal_loss",
    "linear_cross_entropy",
    "categorical_hinge_loss",
    "gradient_penalty",
    "wasserstein_critic_loss",
    "wasserstein_distance_1d",
    "wasserstein_generator_loss",
    "contrastive_loss",
    "cosine_embedding_loss",
    "hinge_embedding_loss",
    "info_nce_loss",
    "margin_ranking_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "gaussian_nll_loss",
    "hinge_loss",
    "huber_loss",
    "l1_loss",
    "log_cosh_loss",
    "mape_loss",
    "mse_loss",
    "msle_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nn",
    "poisson_nll_loss",
    "quantile_loss",
    "rmse_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "squared_hinge_loss",
    "dice_ce_loss",
    "dice_focal_loss",
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "tversky_loss",
    "testing",
    "get_options",
    "options",
    "set_options",
]
