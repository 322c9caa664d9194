"""Parameter counts of the shared networks against counts computed by hand from the papers'
tables (and, where the paper has none, the authors' code).

Each expected number is written as the sum of its layers (weights + biases; BatchNorm: γ and β)
so that it can be checked against the source line by line."""

import pytest
import torch

from disbench.models.nets import GanDiscriminatorBody, GanGenerator, make_decoder, make_encoder

DSPRITES = (1, 64, 64)


def conv(k, c_in, c_out):
    return k * k * c_in * c_out + c_out


def fc(n_in, n_out):
    return n_in * n_out + n_out


def count(module):
    return sum(p.numel() for p in module.parameters())


# Locatello et al. 2019 (ICML), Appendix Table 2: 4×4 convs 32-32-64-64 stride 2, FC 256, FC 2×10.
CONV_ENCODER_PAPER = conv(4, 1, 32) + conv(4, 32, 32) + conv(4, 32, 64) + conv(4, 64, 64) + fc(1024, 256) + fc(256, 20)
# disentanglement_lib methods/shared/architectures.py conv_encoder: conv3 and conv4 are 2×2 (dlib issue #23)
CONV_ENCODER_DLIB = conv(4, 1, 32) + conv(4, 32, 32) + conv(2, 32, 64) + conv(2, 64, 64) + fc(1024, 256) + fc(256, 20)
# same table (paper = code): FC 256, FC 4·4·64, 4×4 upconvs 64-32-32-1 stride 2
CONV_DECODER = fc(10, 256) + fc(256, 1024) + conv(4, 64, 64) + conv(4, 64, 32) + conv(4, 32, 32) + conv(4, 32, 1)
# Higgins et al. 2017 (ICLR), Table 1 row 1 (dSprites): FC 1200-1200 ReLU encoder, FC 1200×3 tanh decoder
FC_ENCODER = fc(4096, 1200) + fc(1200, 1200) + fc(1200, 20)
FC_DECODER = fc(10, 1200) + fc(1200, 1200) + fc(1200, 1200) + fc(1200, 4096)


def bn(c):
    return 2 * c


# InfoGAN-CR code (InfoGAN-CR_dSprites/gan/network.py): Decoder and InfoGANDiscriminator
GAN_GENERATOR = (fc(10, 128) + bn(128) + fc(128, 1024) + bn(1024) + conv(4, 64, 64) + bn(64) + conv(4, 64, 32)
                 + bn(32) + conv(4, 32, 32) + bn(32) + conv(4, 32, 1))
GAN_D_BODY = conv(4, 1, 32) + conv(4, 32, 32) + conv(4, 32, 64) + conv(4, 64, 64) + fc(1024, 128)


@pytest.mark.parametrize("arch, encoder, decoder", [
    ("conv", CONV_ENCODER_PAPER, CONV_DECODER),
    ("conv_dlib", CONV_ENCODER_DLIB, CONV_DECODER),
    ("fc", FC_ENCODER, FC_DECODER),
])
def test_vae_architectures_have_the_papers_parameter_counts(arch, encoder, decoder):
    assert (CONV_ENCODER_PAPER, CONV_ENCODER_DLIB) == (382_932, 309_204)
    enc, dec = make_encoder(arch, DSPRITES, 20), make_decoder(arch, DSPRITES, 10)
    assert count(enc) == encoder and count(dec) == decoder
    x = torch.rand(2, *DSPRITES)
    assert enc(x).shape == (2, 20) and dec(torch.zeros(2, 10)).shape == (2, *DSPRITES)


def test_gan_blocks_have_the_infogan_cr_codes_parameter_counts():
    assert count(GanGenerator(10, DSPRITES)) == GAN_GENERATOR == 251_393
    assert count(GanDiscriminatorBody(DSPRITES)) == GAN_D_BODY == 246_592
