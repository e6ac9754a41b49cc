import torch.nn as nn


class FeatureMLP(nn.Sequential):
    """The two-layer MLP used by both feature extractors (paper Eq. 3 and 4).

    ``Linear(N -> N) - LeakyReLU - Linear(N -> N/2) - LeakyReLU``; the hidden
    width N is the SPEC's Decision (the paper gives depth and activation only).

    Shapes: ``(..., N) -> (..., N // 2)``.
    """

    def __init__(self, embed_dim: int, hidden_dim: int = None,
                 out_dim: int = None, negative_slope: float = 0.01):
        hidden_dim = hidden_dim or embed_dim
        out_dim = out_dim or embed_dim // 2
        super().__init__(
            nn.Linear(embed_dim, hidden_dim), nn.LeakyReLU(negative_slope),
            nn.Linear(hidden_dim, out_dim), nn.LeakyReLU(negative_slope))
