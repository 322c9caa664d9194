"""β-VAE / VAE (disbench.models.beta_vae)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from disbench.errors import InvalidInputError
from disbench.models import DatasetInfo, get_model_class
from disbench.models.beta_vae import BetaVAE, BetaVAEConfig

INFO = DatasetInfo("dsprites", (1, 64, 64), ("shape", "scale", "orientation", "posX", "posY"), (3, 6, 40, 32, 32))


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def squares(n: int, seed: int = 0) -> torch.Tensor:
    """float32 (n, 1, 64, 64): white squares of random size and position."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 1, 64, 64), dtype=np.float32)
    for i in range(n):
        s = rng.integers(8, 20)
        r, c = rng.integers(0, 64 - s, size=2)
        x[i, 0, r : r + s, c : c + s] = 1
    return torch.from_numpy(x)


def make(seed=0, **hp) -> BetaVAE:
    torch.manual_seed(seed)
    return BetaVAE(INFO, 100, BetaVAEConfig(**hp))


def test_registered_under_beta_vae():
    assert get_model_class("beta_vae") is BetaVAE
    assert BetaVAE.supervision == "none"


@pytest.mark.parametrize("arch", ["conv", "fc"])
def test_training_steps_reduce_the_loss(arch):
    model = make(arch=arch, lr=1e-3, optimizer="adam")
    model.set_generator(torch.Generator().manual_seed(0))
    opts = model.configure_optimizers()
    batch = {"x": squares(8)}
    losses = [float(model.training_step(batch, s, opts)["loss"]) for s in range(15)]
    assert losses[-1] < 0.5 * losses[0], losses


def test_loss_terms_and_beta():
    x = squares(8)
    for beta in (1.0, 4.0):
        model = make(beta=beta)
        model.set_generator(torch.Generator().manual_seed(0))
        out = model.training_step({"x": x}, 0, model.configure_optimizers())
        assert out["kl"] >= 0 and out["recon"] > 0
        torch.testing.assert_close(out["loss"], out["recon"] + beta * out["kl"])


def test_loss_terms_are_per_image_sums_averaged_over_the_batch():
    """Pinned values (issue 26): the reconstruction is the Bernoulli NLL summed over pixels, the KL
    summed over latents, both averaged over the batch — not summed over it, not pixel-averaged."""
    model = make()
    for batch in (1, 8):
        x = squares(batch)
        zero_logits = torch.zeros_like(x)  # p = ½ per pixel: −log ½ whatever the pixel is
        mu, logvar = torch.ones(batch, 10), torch.zeros(batch, 10)  # KL = ½ Σ_j μ_j² = 5 per image
        recon, kl = model.loss_terms(x, zero_logits, mu, logvar)
        assert recon.item() == pytest.approx(4096 * np.log(2), rel=1e-6)  # 2839.08 nats per 1×64×64 image
        assert kl.item() == pytest.approx(5.0, rel=1e-6)


def test_shapes_and_dtypes():
    model = make().eval()
    x = squares(5)
    codes = model.encode(x)
    assert codes.shape == (5, 10) and codes.dtype == torch.float32 and codes.device.type == "cpu"
    torch.testing.assert_close(model.encode(x.numpy()), codes)  # numpy input; posterior mean is deterministic
    torch.testing.assert_close(codes, model.posterior(x)[0])
    samples = model.sample(7, generator=torch.Generator().manual_seed(1))
    assert samples.shape == (7, 1, 64, 64) and samples.dtype == torch.float32
    assert 0 <= samples.min() and samples.max() <= 1
    assert model.reconstruct(x).shape == (5, 1, 64, 64)
    trav = model.traverse(x, num_steps=6)
    assert trav.shape == (10, 6, 1, 64, 64)
    assert model.traverse(None, num_steps=3, generator=torch.Generator().manual_seed(0)).shape == (10, 3, 1, 64, 64)
    assert model.encode(torch.zeros(0, 1, 64, 64)).shape == (0, 10)


def test_traversal_varies_one_code_at_a_time():
    model = make().eval()
    x = squares(1)
    mu = model.encode(x)[0]
    grid = model.traverse(x, num_steps=5)
    values = torch.linspace(-3, 3, 5)
    for i in (0, 7):
        z = mu.repeat(5, 1)
        z[:, i] = values
        torch.testing.assert_close(grid[i], torch.sigmoid(model.decode_logits(z)))


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    model = make(seed=0).eval()
    torch.save(model.state_dict(), tmp_path / "m.pt")
    other = make(seed=1).eval()
    x = squares(4)
    assert not torch.equal(other.encode(x), model.encode(x))
    other.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    assert torch.equal(other.encode(x), model.encode(x))
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(other.sample(4, generator=g1), model.sample(4, generator=g2))


def test_bad_hyperparameters_fail_in_the_config():
    with pytest.raises(InvalidInputError, match="arch must be one of 'conv', 'conv_dlib', 'fc', got 'resnet'"):
        BetaVAEConfig(arch="resnet")
    with pytest.raises(InvalidInputError, match="optimizer must be one of 'adam', 'rmsprop', 'adagrad'"):
        BetaVAEConfig(optimizer="sgd")
