"""Every registered architecture: shapes, KL, step-wise decoding = teacher forcing, word dropout."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from textvae_core.config import ConfigError, ModelConfig
from textvae_core.data import make_batch
from textvae_core.models import DECODERS, ENCODERS, build_model, gaussian_kl
from textvae_core.ops import linear_cross_entropy
from textvae_core.vocab import Vocab

VOCAB = Vocab.build([[f"w{i}" for i in range(30)]])
ARCHS = [
    (e, d, zm) for e in ENCODERS for d in DECODERS for zm in (["concat", "init", "both"] if d != "cnn" else ["concat"])
]


def tiny(encoder: str, decoder: str, z_mode: str = "concat", **kw: object) -> ModelConfig:
    cfg = ModelConfig(
        encoder=encoder, decoder=decoder, emb_dim=12, hidden=16, z_dim=5, z_mode=z_mode, cnn_inner=8, **kw
    )
    return cfg


def batch() -> object:
    g = torch.Generator().manual_seed(1)
    seqs = [torch.randint(4, len(VOCAB), (n,), generator=g).tolist() for n in (7, 3, 11, 1)]
    return make_batch(seqs, VOCAB)


@pytest.mark.parametrize(("enc", "dec", "z_mode"), ARCHS)
def test_forward_shapes_and_finite(enc: str, dec: str, z_mode: str) -> None:
    model = build_model(tiny(enc, dec, z_mode, bidirectional=True, enc_layers=2), len(VOCAB))
    out = model(batch())
    assert out.rec.shape == (4,) and out.kl.shape == (4,) and out.mu.shape == (4, 5)
    assert torch.isfinite(out.rec).all() and (out.rec > 0).all() and (out.kl >= 0).all()
    (out.rec.mean() + out.kl.mean()).backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(("enc", "dec", "z_mode"), ARCHS)
def test_stepwise_decoding_matches_teacher_forcing(enc: str, dec: str, z_mode: str) -> None:
    """Decoding one token at a time must give exactly the logits of the parallel forward pass."""
    model = build_model(tiny(enc, dec, z_mode, dec_layers=2, cnn_dilations=[1, 2, 4]), len(VOCAB)).eval()
    b = batch()
    z = torch.randn(4, 5)
    with torch.no_grad():
        full = model.logits(model.decoder(model.embedding(b.dec_in), z))
        state = model.decoder.init_state(z)
        steps = []
        for t in range(b.dec_in.size(1)):
            logits, state = model.step_logits(b.dec_in[:, t], z, state)
            steps.append(logits)
    assert torch.allclose(torch.stack(steps, 1), full, atol=1e-5)


@pytest.mark.parametrize(("enc", "dec", "z_mode"), ARCHS[:1] + [a for a in ARCHS if a[1] == "cnn"][:1])
def test_rec_is_the_sum_of_token_nlls(enc: str, dec: str, z_mode: str) -> None:
    model = build_model(tiny(enc, dec, z_mode), len(VOCAB)).eval()
    b = batch()
    z = torch.randn(4, 5)
    rec = model.sentence_nll(z, b.dec_in, b.target, b.lengths)
    logp = model.logits(model.decoder(model.embedding(b.dec_in), z)).log_softmax(-1)
    for i, n in enumerate(b.lengths.tolist()):
        expected = -sum(logp[i, t, b.target[i, t]].item() for t in range(n + 1))
        assert rec[i].item() == pytest.approx(expected, rel=1e-5)


def test_padding_does_not_change_a_sentence_score() -> None:
    model = build_model(tiny("lstm", "lstm"), len(VOCAB)).eval()
    seq = [5, 6, 7]
    alone = make_batch([seq], VOCAB)
    padded = make_batch([seq, list(range(4, 20))], VOCAB)
    mu1, _ = model.encode(alone.src, alone.lengths)
    mu2, _ = model.encode(padded.src, padded.lengths)
    assert torch.allclose(mu1[0], mu2[0], atol=1e-6)  # packed encoder ignores padding
    z = torch.randn(1, 5)
    r1 = model.sentence_nll(z, alone.dec_in, alone.target, alone.lengths)
    r2 = model.sentence_nll(z.expand(2, -1), padded.dec_in, padded.target, padded.lengths)
    assert r1[0].item() == pytest.approx(r2[0].item(), rel=1e-5)


def test_gaussian_kl_matches_torch_distributions() -> None:
    mu, logvar = torch.randn(6, 4), torch.randn(6, 4)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(4), torch.ones(4))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    assert torch.allclose(gaussian_kl(mu, logvar), expected, atol=1e-5)


def test_word_dropout_replaces_decoder_inputs_only() -> None:
    model = build_model(tiny("lstm", "lstm"), len(VOCAB)).train()
    b = batch()
    seen = {}
    model.decoder.register_forward_pre_hook(lambda m, args: seen.__setitem__("emb", args[0]))
    model.encoder.register_forward_pre_hook(lambda m, args: seen.__setitem__("enc", args[0]))
    model(b, word_dropout=1.0, unk_id=VOCAB.unk_id)
    unk = model.embedding.weight[VOCAB.unk_id]
    bos = model.embedding.weight[VOCAB.bos_id]
    real = b.target != 0
    assert torch.allclose(seen["emb"][:, 0], bos.expand(4, -1))  # <bos> is kept
    assert torch.allclose(seen["emb"][:, 1:][real[:, 1:]], unk.expand(int(real[:, 1:].sum()), -1))
    assert torch.allclose(seen["enc"], model.embedding(b.src))  # the encoder sees the real words
    model(b, word_dropout=0.0)
    assert torch.allclose(seen["emb"], model.embedding(b.dec_in))


def test_fused_cross_entropy_matches_stock_values_and_gradients() -> None:
    torch.manual_seed(0)
    h = torch.randn(50, 16, requires_grad=True)
    lin = torch.nn.Linear(16, 300)
    target = torch.randint(0, 300, (50,))
    weights = torch.rand(50)
    fused = linear_cross_entropy(h, lin.weight, lin.bias, target)
    (fused * weights).sum().backward()
    grads = [h.grad.clone(), lin.weight.grad.clone(), lin.bias.grad.clone()]
    for t in (h, lin.weight, lin.bias):
        t.grad = None
    stock = F.cross_entropy(lin(h), target, reduction="none")
    (stock * weights).sum().backward()
    assert torch.allclose(fused, stock, atol=1e-5)
    for got, want in zip(grads, [h.grad, lin.weight.grad, lin.bias.grad], strict=True):
        assert torch.allclose(got, want, atol=1e-5)


def test_fused_cross_entropy_under_bf16_autocast_matches_the_stock_bf16_path() -> None:
    """bf16 matrix products, fp32 softmax: values and gradients as autocast's own F.linear + CE, and
    the weight's gradient in fp32 for the fp32 master weights."""
    torch.manual_seed(0)
    h = torch.randn(64, 16, requires_grad=True)
    lin = torch.nn.Linear(16, 300)
    target = torch.randint(0, 300, (64,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fused = linear_cross_entropy(h, lin.weight, lin.bias, target)
    fused.sum().backward()
    grads = [h.grad.clone(), lin.weight.grad.clone(), lin.bias.grad.clone()]
    assert fused.dtype == torch.float32 and all(g.dtype == torch.float32 for g in grads)
    for t in (h, lin.weight, lin.bias):
        t.grad = None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        stock = F.cross_entropy(lin(h).float(), target, reduction="none")
    stock.sum().backward()
    assert torch.allclose(fused, stock, atol=2e-2)  # both round the logits to bf16
    for got, want in zip(grads, [h.grad, lin.weight.grad, lin.bias.grad], strict=True):
        assert (got - want).norm() <= 2e-2 * want.norm()


def test_cross_entropy_without_gradient_matches_stock_across_chunks() -> None:
    from textvae_core.ops import EVAL_CHUNK

    torch.manual_seed(0)
    lin = torch.nn.Linear(16, 300)
    h = torch.randn(EVAL_CHUNK + 37, 16) * 3
    target = torch.randint(0, 300, (h.size(0),))
    with torch.no_grad():
        got = linear_cross_entropy(h, lin.weight, lin.bias, target)
        want = F.cross_entropy(lin(h), target, reduction="none")
    assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5)


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown decoder"):
        build_model(tiny("lstm", "transformer"), len(VOCAB))
    with pytest.raises(ConfigError, match="unknown encoder"):
        build_model(tiny("cnn", "lstm"), len(VOCAB))


def test_batch_normalised_mu_has_zero_mean_and_the_set_spread_in_training() -> None:
    """Zhu et al. 2020: no rate can go into a shared shift of every code; evaluation uses fixed statistics."""
    model = build_model(tiny("lstm", "lstm", mu_norm="batchnorm", mu_scale=0.5), len(VOCAB))
    b = batch()
    mu, _ = model.encode(b.src, b.lengths)
    assert torch.allclose(mu.mean(0), torch.zeros(5), atol=1e-5)
    assert torch.allclose(mu.var(0, unbiased=False), torch.full((5,), 0.25), rtol=3e-2)  # BN eps
    model.refresh_mu_stats([(b.src, b.lengths)])
    model.eval()
    shrink = (3 / 4) ** 0.5  # the stored variance is the unbiased one (n − 1 = 3 of 4), as in any BatchNorm
    with torch.no_grad():  # population statistics from the same batch: evaluation reproduces training's μ
        assert torch.allclose(model.encode(b.src, b.lengths)[0], mu * shrink, atol=1e-3)
        one, _ = model.encode(b.src[:1], b.lengths[:1])  # one sentence alone: no batch statistics needed
    assert torch.allclose(one, mu[:1] * shrink, atol=1e-3)
    with pytest.raises(ConfigError, match="mu_norm"):
        build_model(tiny("lstm", "lstm", mu_norm="layernorm"), len(VOCAB))


def test_bag_of_words_loss_counts_each_word_of_the_sentence_once() -> None:
    model = build_model(tiny("lstm", "lstm", bow_head=True), len(VOCAB))
    b = batch()
    out = model(b)
    z = torch.zeros(4, 5)  # a zero code: the head predicts softmax(bias) for every sentence
    logp = F.log_softmax(model.bow_head.bias.detach(), -1)
    want = torch.stack([-logp[b.src[i, : b.lengths[i]]].sum() for i in range(4)])
    assert out.bow.shape == (4,) and torch.allclose(model.bow_nll(z, b.src).detach(), want, atol=1e-5)
    assert build_model(tiny("lstm", "lstm"), len(VOCAB))(b).bow is None


def test_learned_mu_scale_sets_each_dimensions_spread_and_gets_gradients() -> None:
    model = build_model(tiny("lstm", "lstm", mu_norm="batchnorm", mu_scale_learn=True, mu_scale=0.5), len(VOCAB))
    with torch.no_grad():
        model.mu_gamma.copy_(torch.tensor([0.0, 0.1, 0.5, 1.0, 2.0]))
    b = batch()
    mu, logvar = model.encode(b.src, b.lengths)
    assert torch.allclose(mu.std(0, unbiased=False), model.mu_gamma.detach(), rtol=3e-2, atol=1e-4)
    gaussian_kl(mu, logvar).mean().backward()
    assert model.mu_gamma.grad is not None and model.mu_gamma.grad[4] > 0  # a wider spread costs KL
