"""The objective family against numbers computed by hand, and the AutoGen / β-VAE equivalence."""

from __future__ import annotations

import math

import pytest
import torch

from textvae_core.config import ConfigError
from textvae_core.objectives import (
    PRESETS,
    beta_at,
    capacity_at,
    family_terms,
    objective_terms,
    preset,
    validate,
)

REC = torch.tensor([10.0, 30.0])  # per-sentence distortion: mean 20
KL = torch.tensor([2.0, 6.0])  # per-sentence KL: mean 4


@pytest.mark.parametrize(
    ("name", "knobs", "step", "expected_loss", "expected_beta"),
    [
        ("vae", {}, 0, 20 + 4, 1.0),
        ("beta-vae", {"beta": 0.5}, 0, 20 + 0.5 * 4, 0.5),
        ("autogen", {}, 0, 2 * 20 + 4, 1.0),  # m = 1 by default
        ("autogen", {"m": 2.0}, 0, 3 * 20 + 4, 1.0),
        ("autogen", {"m": 0.5}, 0, 1.5 * 20 + 4, 1.0),  # real m allowed
        ("beta-c", {"C": 15.0}, 0, 20 + abs(4 - 15), 1.0),
        ("beta-c", {"C": 3.0, "beta": 2.0}, 0, 20 + 2 * abs(4 - 3), 2.0),
        # a logistic ramp of 2000 steps is exactly half-way at step 1000
        ("vae-anneal", {"warmup_steps": 2000}, 1000, 20 + 0.5 * 4, 0.5),
        ("vae-anneal", {"schedule": "linear", "warmup_steps": 100}, 25, 20 + 0.25 * 4, 0.25),
        # the β_C paper's code: C ramped linearly from 0; at step 50 of 100, C(t) = 7.5 of 15
        ("beta-c", {"C": 15.0, "C_schedule": "linear", "C_warmup_steps": 100}, 50, 20 + abs(4 - 7.5), 1.0),
        ("beta-c", {"C": 15.0, "C_schedule": "linear", "C_warmup_steps": 100}, 500, 20 + abs(4 - 15), 1.0),
    ],
)
def test_presets_match_hand_computed_loss(
    name: str, knobs: dict, step: int, expected_loss: float, expected_beta: float
) -> None:
    terms = objective_terms(REC, KL, preset(name, **knobs), step)
    assert terms["loss"].item() == pytest.approx(expected_loss, rel=1e-6)
    assert terms["beta"].item() == pytest.approx(expected_beta, rel=1e-6)
    # the ELBO is reported the same way whatever the objective: −(D + KL)
    assert terms["elbo"].item() == pytest.approx(-24.0)
    assert terms["rec"].item() == pytest.approx(20.0)
    assert terms["kl"].item() == pytest.approx(4.0)


def test_kl_share_is_the_regulariser_fraction_of_the_objective() -> None:
    vae = objective_terms(REC, KL, preset("vae"), 0)
    autogen = objective_terms(REC, KL, preset("autogen", m=1.0), 0)
    assert vae["kl_share"].item() == pytest.approx(4 / 24)
    assert autogen["kl_share"].item() == pytest.approx(4 / 44)
    bc = objective_terms(REC, KL, preset("beta-c", C=10.0), 0)
    assert bc["kl_share"].item() == pytest.approx(6 / 26)


def test_every_preset_is_covered_and_valid() -> None:
    for name in PRESETS:
        cfg = preset(name)
        validate(cfg)
        assert cfg.name == name
    assert preset("autogen").m == 1.0
    assert preset("beta-c").C == 15.0


@pytest.mark.parametrize("m", [0.5, 1.0, 2.0, 3.7])
def test_autogen_and_beta_vae_gradients_are_proportional(m: float) -> None:
    """AutoGen(m) = (1+m)·[D + KL/(1+m)]: the β-VAE with β = 1/(1+m), scaled by 1+m."""
    torch.manual_seed(0)
    params = torch.randn(8, requires_grad=True)

    def grad(loss_fn):
        params.grad = None
        rec = (params[:4] ** 2).exp() + 3.0  # any differentiable D and KL ≥ 0 will do
        kl = params[4:].pow(2) * 0.7
        loss_fn(rec, kl).backward()
        return params.grad.clone()

    g_autogen = grad(lambda r, k: family_terms(r, k, m=m, beta=1.0, C=None)[0])
    g_beta = grad(lambda r, k: family_terms(r, k, m=0.0, beta=1.0 / (1.0 + m), C=None)[0])
    assert torch.allclose(g_autogen, (1.0 + m) * g_beta, rtol=1e-5, atol=1e-6)


def test_capacity_term_pushes_kl_towards_c_from_both_sides() -> None:
    for mean_kl, sign in ((5.0, -1.0), (25.0, 1.0)):
        kl = torch.tensor([mean_kl], requires_grad=True)
        family_terms(torch.tensor([1.0]), kl, 0.0, 1.0, C=15.0)[0].backward()
        assert kl.grad.item() == pytest.approx(sign)  # gradient descent moves KL towards C


def test_schedules() -> None:
    lin = preset("vae", schedule="linear", warmup_steps=10, beta=2.0)
    assert [beta_at(s, lin) for s in (0, 5, 10, 50)] == pytest.approx([0.0, 1.0, 2.0, 2.0])
    logi = preset("vae", schedule="logistic", warmup_steps=100)
    assert beta_at(0, logi) < 0.01 and beta_at(100, logi) > 0.99
    assert beta_at(50, logi) == pytest.approx(0.5)
    cyc = preset("vae", schedule="cyclical", warmup_steps=10, cycles=2, cycle_ramp=0.5)
    assert [beta_at(s, cyc) for s in (0, 2, 5, 9, 10, 12, 25)] == pytest.approx([0, 0.4, 1, 1, 0, 0.4, 1])
    # β_max other than 1 (the report's set-up) and a non-zero start
    ramp = preset("vae-anneal", schedule="linear", warmup_steps=4, beta=0.2, beta_start=0.1)
    assert [beta_at(s, ramp) for s in (0, 2, 4)] == pytest.approx([0.1, 0.15, 0.2])
    assert math.isclose(beta_at(10**9, preset("vae-anneal")), 1.0, rel_tol=1e-6)


def test_alpha_adds_the_hybrid_auxiliary_reconstruction_to_the_loss_not_to_the_elbo() -> None:
    aux = torch.tensor([50.0, 70.0])  # mean 60
    terms = objective_terms(REC, KL, preset("beta-c", C=3.0, alpha=0.2), 0, aux_rec=aux)
    assert terms["loss"].item() == pytest.approx(20 + abs(4 - 3) + 0.2 * 60)
    assert terms["elbo"].item() == pytest.approx(-24.0) and terms["aux_rec"].item() == pytest.approx(60.0)
    assert terms["kl_share"].item() == pytest.approx(1 / 33)
    # a model without an auxiliary output is untouched by α; α = 0 still logs D_aux
    assert objective_terms(REC, KL, preset("vae", alpha=0.2), 0)["loss"].item() == pytest.approx(24.0)
    assert objective_terms(REC, KL, preset("vae"), 0, aux_rec=aux)["loss"].item() == pytest.approx(24.0)


def test_kl_parts_are_logged_and_beta_and_c_act_on_their_sum() -> None:
    parts = {"z1": torch.tensor([1.5, 4.5]), "z2": torch.tensor([0.5, 1.5])}  # means 3 and 1: KL = 4
    terms = objective_terms(REC, KL, preset("beta-c", C=10.0, beta=2.0), 0, kl_terms=parts)
    assert terms["kl_z1"].item() == pytest.approx(3.0) and terms["kl_z2"].item() == pytest.approx(1.0)
    assert terms["loss"].item() == pytest.approx(20 + 2 * abs(4 - 10))


def test_free_bits_floor_each_dimension_and_stop_its_gradient_below_the_floor() -> None:
    # two sentences, three dimensions: batch means 0.1, 1.0 and 3.0 nats (KL 4.1 per sentence on average)
    kl_dims = torch.tensor([[0.0, 0.5, 2.0], [0.2, 1.5, 4.0]], requires_grad=True)
    kl = kl_dims.sum(-1)
    terms = objective_terms(REC, kl, preset("vae", free_bits=0.5), 0, kl_dims=kl_dims)
    assert terms["loss"].item() == pytest.approx(20 + 0.5 + 1.0 + 3.0)  # the first dimension costs λ, not 0.1
    assert terms["kl"].item() == pytest.approx(4.1)  # the ELBO's KL is the true one, not the floored one
    assert terms["elbo"].item() == pytest.approx(-24.1)
    terms["loss"].backward()
    assert kl_dims.grad[:, 0].tolist() == [0.0, 0.0]  # under the floor: no pressure back to the prior
    assert kl_dims.grad[:, 1:].flatten().tolist() == pytest.approx([0.5] * 4)  # above: the plain KL's 1/B
    with pytest.raises(ConfigError, match="per latent dimension"):
        objective_terms(REC, KL, preset("vae", free_bits=0.5), 0)  # a model output without kl_dims


def test_capacity_schedules() -> None:
    ramp = preset("beta-c", C=100.0, C_schedule="linear", C_warmup_steps=200)
    assert [capacity_at(s, ramp) for s in (0, 50, 200, 10**6)] == pytest.approx([0.0, 25.0, 100.0, 100.0])
    assert capacity_at(0, preset("beta-c", C=15.0)) == 15.0  # constant: C from the first step
    assert capacity_at(0, preset("vae")) is None  # no capacity: K = KL


@pytest.mark.parametrize(
    "knobs",
    [
        {"m": -1.0},
        {"beta": -0.1},
        {"C": -2.0},
        {"alpha": -0.5},
        {"schedule": "sawtooth"},
        {"schedule": "linear", "warmup_steps": 0},
        {"C": 5.0, "C_schedule": "cosine", "C_warmup_steps": 10},
        {"C": 5.0, "C_schedule": "linear", "C_warmup_steps": 0},
        {"C_schedule": "linear", "C_warmup_steps": 10},  # a ramp with no capacity to ramp to
        {"free_bits": -0.5},
        {"free_bits": 0.5, "C": 10.0},  # a capacity and a floor per dimension both price the KL
    ],
)
def test_invalid_knobs_are_refused_with_a_message(knobs: dict) -> None:
    with pytest.raises(ConfigError):
        validate(preset("vae", **knobs))


def test_unknown_preset() -> None:
    with pytest.raises(ConfigError, match="unknown objective"):
        preset("wae")
