"""Shared network blocks: convolutional encoder / decoder (and discriminator trunks).

The convolutional architecture is the one of the large-scale disentanglement study
(Locatello et al. 2019, ICML, Appendix Table 2; also Burgess et al. 2018 with 32-32-32-32
channels) for 64×64 inputs, in two variants:

    ``arch = "conv"`` (the paper's table):
    encoder: conv 32 4×4 s2 -> conv 32 4×4 s2 -> conv 64 4×4 s2 -> conv 64 4×4 s2
             (64 -> 32 -> 16 -> 8 -> 4 pixels), ReLU, flatten 1024 -> fc 256 ReLU -> fc out
    decoder: fc 256 ReLU -> fc 1024 ReLU -> reshape 64×4×4 -> deconv 64 4×4 s2 -> deconv 32
             4×4 s2 -> deconv 32 4×4 s2 -> deconv C 4×4 s2 (logits)

    ``arch = "conv_dlib"`` (the code that produced the published numbers): as above but the
    third and fourth encoder convolutions are 2×2 (stride 2, no padding), as in
    disentanglement_lib's ``methods/shared/architectures.py`` ``conv_encoder`` and its
    published models (disentanglement_lib issue #23, pull request #35). The decoders agree.

Parameter counts for one channel and 10 latents: encoder 382,932 (``conv``) or 309,204
(``conv_dlib``), decoder 381,313 (``tests/test_architectures.py`` derives them layer by
layer from the tables).

Also the fully connected architecture of Higgins et al. 2017 (ICLR), Table 1 / Appendix A
for dSprites: encoder 1200-1200 ReLU, decoder 1200-1200-1200 tanh (``arch = "fc"``).

All blocks take/return float32 tensors; images are ``(N, C, H, W)`` with H = W = 64
(other sizes divisible by 16 work for the conv blocks).
"""

from __future__ import annotations

import math

import torch
from torch import nn

CONV_CHANNELS = (32, 32, 64, 64)
#: kernel sizes of the four encoder convolutions: the paper's table, disentanglement_lib's code
KERNELS_PAPER = (4, 4, 4, 4)
KERNELS_DLIB = (4, 4, 2, 2)


class ConvEncoder(nn.Module):
    """Conv trunk + fc head: images ``(N, C, H, W)`` -> features ``(N, out_dim)``.

    Args:
        observation_shape: ``(C, H, W)``; H and W divisible by 16.
        out_dim: size of the last linear layer (e.g. ``2 * num_latents`` for a Gaussian).
        channels: the four conv widths.
        hidden: width of the fc layer after the trunk.
        norm: ``"none"`` or ``"batch"`` (batch norm after convs 2-4, for discriminators).
        activation: ``"relu"`` or ``"lrelu"`` (LeakyReLU 0.2, for discriminators).
        kernels: the convolutions' kernel sizes, 4 or 2 (stride 2 and padding 1 or 0: each
            halves the side exactly, as TensorFlow's "same" padding does).
    """

    def __init__(self, observation_shape, out_dim: int, channels=CONV_CHANNELS, hidden: int = 256,
                 norm: str = "none", activation: str = "relu", kernels=KERNELS_PAPER):
        super().__init__()
        c, h, w = observation_shape
        layers: list[nn.Module] = []
        prev = c
        for i, (ch, k) in enumerate(zip(channels, kernels, strict=True)):
            layers.append(nn.Conv2d(prev, ch, k, stride=2, padding=(k - 2) // 2))
            if norm == "batch" and i > 0:
                layers.append(nn.BatchNorm2d(ch))
            layers.append(_act(activation))
            prev = ch
        scale = 2 ** len(channels)
        self.trunk = nn.Sequential(*layers, nn.Flatten())
        self.feature_dim = prev * (h // scale) * (w // scale)
        self.head = nn.Sequential(nn.Linear(self.feature_dim, hidden), _act(activation), nn.Linear(hidden, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


class ConvDecoder(nn.Module):
    """fc + transposed-conv stack: codes ``(N, in_dim)`` -> pixel logits ``(N, C, H, W)``.

    Mirror of :class:`ConvEncoder`. ``norm="batch"`` adds batch norm (GAN generators).
    """

    def __init__(self, observation_shape, in_dim: int, channels=CONV_CHANNELS, hidden: int = 256,
                 norm: str = "none"):
        super().__init__()
        c, h, w = observation_shape
        rev = tuple(reversed(channels))
        scale = 2 ** len(channels)
        self._start = (rev[0], h // scale, w // scale)
        bn = (lambda n: nn.BatchNorm1d(n)) if norm == "batch" else (lambda n: nn.Identity())
        self.fc = nn.Sequential(
            nn.Linear(in_dim, hidden), bn(hidden), nn.ReLU(),
            nn.Linear(hidden, math.prod(self._start)), bn(math.prod(self._start)), nn.ReLU(),
        )
        layers: list[nn.Module] = []
        outs = list(rev[1:]) + [c]
        prev = rev[0]
        for i, ch in enumerate(outs):
            layers.append(nn.ConvTranspose2d(prev, ch, 4, stride=2, padding=1))
            if i < len(outs) - 1:
                if norm == "batch":
                    layers.append(nn.BatchNorm2d(ch))
                layers.append(nn.ReLU())
            prev = ch
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.fc(z).view(-1, *self._start))


class FCEncoder(nn.Module):
    """Higgins et al. 2017 dSprites encoder: flatten -> 1200 ReLU -> 1200 ReLU -> out_dim."""

    def __init__(self, observation_shape, out_dim: int, hidden: int = 1200):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(observation_shape), hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class FCDecoder(nn.Module):
    """Higgins et al. 2017 dSprites decoder: in_dim -> 1200 tanh ×3 -> pixel logits."""

    def __init__(self, observation_shape, in_dim: int, hidden: int = 1200):
        super().__init__()
        self.shape = tuple(observation_shape)
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
            nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, math.prod(self.shape)),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *self.shape)


class DlibConvEncoder(ConvEncoder):
    """:class:`ConvEncoder` with disentanglement_lib's kernels (4, 4, 2, 2): ``arch = "conv_dlib"``."""

    def __init__(self, observation_shape, out_dim: int):
        super().__init__(observation_shape, out_dim, kernels=KERNELS_DLIB)


ARCHS = {"conv": (ConvEncoder, ConvDecoder), "conv_dlib": (DlibConvEncoder, ConvDecoder), "fc": (FCEncoder, FCDecoder)}


def make_encoder(arch: str, observation_shape, out_dim: int) -> nn.Module:
    """Encoder of architecture ``arch`` (``"conv"``, ``"conv_dlib"`` or ``"fc"``).

    Raises:
        UnknownNameError: unknown ``arch``.
    """
    return _arch(arch)[0](observation_shape, out_dim)


def make_decoder(arch: str, observation_shape, in_dim: int) -> nn.Module:
    """Decoder of architecture ``arch`` (a key of :data:`ARCHS`), returning pixel logits."""
    return _arch(arch)[1](observation_shape, in_dim)


def _arch(arch: str):
    from disbench.errors import unknown_name

    if arch not in ARCHS:
        raise unknown_name("architecture", arch, ARCHS)
    return ARCHS[arch]


#: weight initialisations a VAE-family config may name (``init``)
INITS = ("torch", "tf_default")


def apply_init(module: nn.Module, init: str) -> nn.Module:
    """Re-initialise the conv, transposed-conv and linear layers of ``module`` in place.

    ``"torch"``: leave torch's defaults (kaiming-uniform with a = √5, uniform biases).
    ``"tf_default"``: TensorFlow 1's defaults, which disentanglement_lib's networks get
    (``methods/shared/architectures.py``: ``tf.layers.conv2d``, ``conv2d_transpose`` and
    ``dense`` with no initialiser argument, so ``tf.get_variable``'s default
    ``glorot_uniform_initializer`` for kernels and ``zeros_initializer`` for biases):
    weights ~ U(−l, l) with l = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010, Eq. 16),
    biases 0. TF's fans: a dense kernel (in, out) has fan_in = in, fan_out = out; a conv
    kernel (kh, kw, in, out) has fan_in = kh·kw·in, fan_out = kh·kw·out; a transposed-conv
    kernel is stored (kh, kw, out, in), so TF computes fan_in = kh·kw·out_channels and
    fan_out = kh·kw·in_channels — the sum, hence the bound, is the same either way, and
    torch's ``xavier_uniform_`` (fans from its own layouts) gives exactly this bound.
    The draws come from torch's global generator (:func:`disbench.train.build_model` seeds
    it from the run's init stream), so they are not TF's numbers, only TF's distribution.

    Returns ``module``. Raises :class:`~disbench.errors.InvalidInputError` for an unknown ``init``.
    """
    if init not in INITS:
        from disbench.errors import InvalidInputError

        raise InvalidInputError(f"init must be one of {', '.join(map(repr, INITS))}, got {init!r}")
    if init == "tf_default":
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
    return module


def _act(name: str) -> nn.Module:
    return nn.LeakyReLU(0.2) if name == "lrelu" else nn.ReLU()


# --- GAN blocks (appended by the GAN area: InfoGAN, LSGAN, ACGAN, Stacked GAN) -------------
def _check_gan_size(observation_shape, num_up: int) -> tuple[int, int, int]:
    from disbench.errors import InvalidInputError

    c, h, w = (int(v) for v in observation_shape)
    side = 4 * 2**num_up
    if h != side or w != side:
        raise InvalidInputError(
            f"the GAN conv blocks need {side}x{side} observations, got {h}x{w}; "
            "resize the dataset or change the number of conv layers"
        )
    return c, h, w


class GanGenerator(nn.Module):
    """Conv generator of the InfoGAN-CR dSprites setup (Lin et al. 2020, official code
    ``network.py``, ``Decoder``; DCGAN-style, Radford et al. 2016):
    fc ``hidden`` (ReLU, BN) -> fc 4·4·``channels[0]`` (ReLU, BN) -> transposed convs to
    ``channels[0], channels[1:]...`` (4×4, stride 2, LeakyReLU 0.2, BN) -> transposed conv
    to C channels (4×4, stride 2) -> sigmoid.

    Default ``channels=(64, 32, 32)`` gives the paper's deconvs 64-32-32-C for 64×64 images.
    Maps float32 ``(N, in_dim)`` to images float32 ``(N, C, H, W)`` in [0, 1].

    Raises:
        InvalidInputError: the observation side is not ``4·2**(len(channels)+1)``.
    """

    def __init__(self, in_dim: int, observation_shape, hidden: int = 128, channels=(64, 32, 32)):
        super().__init__()
        c_out, _, _ = _check_gan_size(observation_shape, len(channels) + 1)
        self.channels = tuple(channels)
        self.fc = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.ReLU(), nn.BatchNorm1d(hidden),
            nn.Linear(hidden, 16 * channels[0]), nn.ReLU(), nn.BatchNorm1d(16 * channels[0]),
        )
        layers = []
        for c_in, c_next in zip((channels[0], *channels[:-1]), channels, strict=True):
            layers += [nn.ConvTranspose2d(c_in, c_next, 4, 2, 1), nn.LeakyReLU(0.2), nn.BatchNorm2d(c_next)]
        layers += [nn.ConvTranspose2d(channels[-1], c_out, 4, 2, 1), nn.Sigmoid()]
        self.deconv = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(len(z), self.channels[0], 4, 4)
        return self.deconv(h)


class GanDiscriminatorBody(nn.Module):
    """Shared body of the discriminators (and InfoGAN's Q) of the InfoGAN-CR dSprites
    setup (Lin et al. 2020, official code ``InfoGANDiscriminator`` shared part):
    convs ``channels`` (4×4, stride 2, LeakyReLU 0.2) -> fc ``hidden`` (LeakyReLU 0.2).

    Maps images float32 ``(N, C, H, W)`` to features float32 ``(N, hidden)``; heads
    (real/fake logit, Q, class) are added by each baseline.

    Raises:
        InvalidInputError: the observation side is not ``4·2**len(channels)``.
    """

    def __init__(self, observation_shape, hidden: int = 128, channels=(32, 32, 64, 64)):
        super().__init__()
        c_in, _, _ = _check_gan_size(observation_shape, len(channels))
        layers = []
        for c_prev, c_next in zip((c_in, *channels[:-1]), channels, strict=True):
            layers += [nn.Conv2d(c_prev, c_next, 4, 2, 1), nn.LeakyReLU(0.2)]
        self.conv = nn.Sequential(*layers, nn.Flatten())
        self.fc = nn.Sequential(nn.Linear(16 * channels[-1], hidden), nn.LeakyReLU(0.2))
        self.out_dim = hidden
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x))


def spectral_norm_layers(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every conv and linear layer of
    ``module``, in place, with torch's ``nn.utils.parametrizations.spectral_norm`` (one
    power iteration per forward pass in training mode, none in eval mode). Call it after
    the weights are initialised. Returns ``module``."""
    from torch.nn.utils.parametrizations import spectral_norm

    for m in list(module.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            spectral_norm(m)
    return module


def dcgan_init(module: nn.Module, std: float = 0.02) -> None:
    """Weights of conv and linear layers ~ N(0, std²), biases 0 (DCGAN, Radford et al.
    2016, Sec. 4; the InfoGAN-CR code initialises likewise with std 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.zeros_(m.bias)
