"""Every registered architecture: shapes, KL, gradients, step-wise decoding = teacher forcing, word dropout.

ARCHS covers every encoder × decoder pair with a dense latent (RNN decoders in every z_mode); FAMILIES
adds the report's structures: feature-map latents and ladders, each over the encoders it is built for.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from textvae_core.config import ConfigError, ModelConfig
from textvae_core.data import make_batch
from textvae_core.models import DECODERS, ENCODERS, LATENTS, SequenceTooLong, build_model, gaussian_kl
from textvae_core.models.ladder import merge
from textvae_core.models.rnn_encoder import segment_means
from textvae_core.models.vae import TIED_INIT
from textvae_core.objectives import objective_terms, preset
from textvae_core.ops import linear_cross_entropy
from textvae_core.vocab import Vocab

VOCAB = Vocab.build([[f"w{i}" for i in range(30)]])
RNN_DECODERS = {"lstm", "gru"}
ARCHS = [
    (e, d, zm, "dense")
    for e in ENCODERS
    for d in DECODERS
    for zm in (["concat", "init", "both"] if d in RNN_DECODERS else ["concat"])
]
FAMILIES = [
    # feature-map latents (report §4.1) for the RNN, CNN and Hybrid models, and a mixed pair
    ("lstm", "lstm", "concat", "fmp"),
    ("gru", "gru", "init", "fmp"),
    ("cnn", "deconv", "concat", "fmp"),
    ("cnn", "hybrid", "concat", "fmp"),
    ("cnn", "lstm", "both", "fmp"),
    # ladders (report §2.4, §4.2): LVAE with an RNN encoder, LCNNVAE with the CNN encoder
    ("lstm", "lstm", "concat", "ladder"),
    ("gru", "gru", "both", "ladder"),
    ("cnn", "lstm", "concat", "ladder"),
    ("cnn", "hybrid", "concat", "ladder"),
]
ALL = ARCHS + FAMILIES


def tiny(encoder: str, decoder: str, z_mode: str = "concat", latent: str = "dense", **kw: object) -> ModelConfig:
    """A few hundred parameters per part. seq_len 16 and two conv layers: a 4-position feature map."""
    cfg = dict(
        encoder=encoder,
        decoder=decoder,
        emb_dim=12,
        hidden=16,
        z_dim=5,
        z_mode=z_mode,
        cnn_inner=8,
        latent=latent,
        seq_len=16,
        conv_channels=[8, 12],
        fmp_positions=4,
        ladder_z=[5, 4],
        ladder_hidden=[16, 12],
    )
    cfg.update(kw)
    return ModelConfig(**cfg)


def batch() -> object:
    g = torch.Generator().manual_seed(1)
    seqs = [torch.randint(4, len(VOCAB), (n,), generator=g).tolist() for n in (7, 3, 11, 1)]
    return make_batch(seqs, VOCAB)


def test_every_registered_part_is_covered() -> None:
    assert {a[0] for a in ALL} == set(ENCODERS) and {a[1] for a in ALL} == set(DECODERS)
    assert {a[3] for a in ALL} == set(LATENTS)


@pytest.mark.parametrize(("enc", "dec", "z_mode", "latent"), ALL)
def test_forward_shapes_kl_parts_and_gradients(enc: str, dec: str, z_mode: str, latent: str) -> None:
    model = build_model(tiny(enc, dec, z_mode, latent, bidirectional=True, enc_layers=2), len(VOCAB))
    out = model(batch())
    d = model.latent_dim
    assert out.rec.shape == (4,) and out.kl.shape == (4,) and out.mu.shape == (4, d) == out.logvar.shape
    assert torch.isfinite(out.rec).all() and (out.rec > 0).all() and (out.kl >= 0).all()
    if latent == "dense":
        assert out.kl_terms is None and d == 5
    else:  # FMP: one term per position (4 = 16 / 2², or fmp_positions); ladder: one per layer
        names = ["z1", "z2"] if latent == "ladder" else ["pos1", "pos2", "pos3", "pos4"]
        assert list(out.kl_terms) == names
        assert torch.allclose(sum(out.kl_terms.values()), out.kl, atol=1e-5)
        assert all((t >= -1e-6).all() for t in out.kl_terms.values())
        assert d == (9 if latent == "ladder" else 20)
    assert (out.aux_rec is not None) == (dec == "hybrid")
    # the training loss (with the Hybrid's α·D_aux) reaches every parameter
    terms = objective_terms(out.rec, out.kl, preset("vae", alpha=0.2), 0, aux_rec=out.aux_rec, kl_terms=out.kl_terms)
    terms["loss"].backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(("enc", "dec", "z_mode", "latent"), ALL)
def test_stepwise_decoding_matches_teacher_forcing(enc: str, dec: str, z_mode: str, latent: str) -> None:
    """Decoding one token at a time must give exactly the logits of the parallel forward pass."""
    model = build_model(tiny(enc, dec, z_mode, latent, dec_layers=2, cnn_dilations=[1, 2, 4]), len(VOCAB)).eval()
    b = batch()
    z = torch.randn(4, model.latent_dim)
    with torch.no_grad():
        full = model.logits(model.decoder(model.embedding(b.dec_in), model.decoder_z(z)))
        state = model.init_state(z)
        steps = []
        for t in range(b.dec_in.size(1)):
            logits, state = model.step_logits(b.dec_in[:, t], z, state)
            steps.append(logits)
    assert torch.allclose(torch.stack(steps, 1), full, atol=1e-5)


@pytest.mark.parametrize(
    ("enc", "dec", "z_mode", "latent"),
    [ARCHS[0], ("lstm", "cnn", "concat", "dense"), ("cnn", "deconv", "concat", "dense"), FAMILIES[3], FAMILIES[5]],
)
def test_rec_is_the_sum_of_token_nlls(enc: str, dec: str, z_mode: str, latent: str) -> None:
    model = build_model(tiny(enc, dec, z_mode, latent), len(VOCAB)).eval()
    b = batch()
    z = torch.randn(4, model.latent_dim)
    rec = model.sentence_nll(z, b.dec_in, b.target, b.lengths)
    logp = model.logits(model.decoder(model.embedding(b.dec_in), model.decoder_z(z))).log_softmax(-1)
    for i, n in enumerate(b.lengths.tolist()):
        expected = -sum(logp[i, t, b.target[i, t]].item() for t in range(n + 1))
        assert rec[i].item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(("dec", "hidden"), [("lstm", 16), ("gru", 12), ("cnn", 16)])
def test_a_tied_output_layer_is_the_embedding(dec: str, hidden: int) -> None:
    """tie_embeddings: the logits are E·h (+ b), through a projection when the decoder is wider than the
    embedding; E has one owner in the weights; <pad> stays the zero vector; decoding agrees with training."""
    model = build_model(
        tiny("lstm", dec, "both" if dec != "cnn" else "concat", hidden=hidden, tie_embeddings=True), len(VOCAB)
    )
    names = set(model.state_dict())
    assert model.embedding.weight.abs().max() <= TIED_INIT  # an output layer's scale, not N(0, 1)
    assert "out.weight" not in names and "out.bias" in names
    assert ("out_proj.weight" in names) == (hidden != 12)  # emb_dim 12: a 16-wide decoder projects first
    assert sum(p.numel() for p in model.parameters()) < sum(
        p.numel() for p in build_model(tiny("lstm", dec, hidden=hidden), len(VOCAB)).parameters()
    )
    b = batch()
    out = model(b)
    out.rec.sum().backward()
    grad = model.embedding.weight.grad
    assert grad[VOCAB.eos_id].abs().sum() > 0  # <eos> is only ever a target: its row learns through the output layer
    assert grad[VOCAB.pad_id].abs().sum() == 0

    model.eval()
    z = torch.randn(4, model.latent_dim)
    with torch.no_grad():
        hidden_states = model.decoder(model.embedding(b.dec_in), model.decoder_z(z))
        full = model.logits(hidden_states)
        shifted = model.embedding.weight.clone()
        shifted[VOCAB.eos_id] += 1.0
        model.embedding.weight.copy_(shifted)  # the output layer reads the embedding itself, not a copy
        assert not torch.allclose(model.logits(hidden_states)[..., VOCAB.eos_id], full[..., VOCAB.eos_id])
        model.embedding.weight[VOCAB.eos_id] -= 1.0
        state, steps = model.init_state(z), []
        for t in range(b.dec_in.size(1)):
            logits, state = model.step_logits(b.dec_in[:, t], z, state)
            steps.append(logits)
        rec = model.sentence_nll(z, b.dec_in, b.target, b.lengths)
    assert torch.allclose(torch.stack(steps, 1), full, atol=1e-5)
    logp = full.log_softmax(-1)
    for i, n in enumerate(b.lengths.tolist()):
        assert rec[i].item() == pytest.approx(-sum(logp[i, t, b.target[i, t]].item() for t in range(n + 1)), rel=1e-5)


def test_hybrid_aux_rec_is_the_deconvolution_read_alone() -> None:
    """D_aux scores x under the deconvolution's features projected by aux_out: no LSTM, no input words."""
    model = build_model(tiny("cnn", "hybrid"), len(VOCAB)).eval()
    b = batch()
    z = torch.randn(4, model.latent_dim)
    aux = model.aux_nll(z, b.dec_in, b.target, b.lengths)
    logp = model.aux_out(model.decoder.deconv(z)).log_softmax(-1)
    for i, n in enumerate(b.lengths.tolist()):
        assert aux[i].item() == pytest.approx(-sum(logp[i, t, b.target[i, t]].item() for t in range(n + 1)), rel=1e-5)
    shuffled = b.dec_in.flip(0)  # other input words change the LSTM's reading, never D_aux
    assert torch.allclose(model.aux_nll(z, shuffled, b.target, b.lengths), aux)


@pytest.mark.parametrize(("enc", "latent"), [("lstm", "dense"), ("lstm", "fmp"), ("cnn", "dense"), ("cnn", "fmp")])
def test_padding_does_not_change_a_sentence_score(enc: str, latent: str) -> None:
    model = build_model(tiny(enc, "lstm", latent=latent), len(VOCAB)).eval()
    seq = [5, 6, 7]
    alone = make_batch([seq], VOCAB)
    padded = make_batch([seq, list(range(4, 15))], VOCAB)
    mu1, _ = model.encode(alone.src, alone.lengths)
    mu2, _ = model.encode(padded.src, padded.lengths)
    assert torch.allclose(mu1[0], mu2[0], atol=1e-6)  # packed RNN / fixed-width CNN: padding is not read
    z = torch.randn(1, model.latent_dim)
    r1 = model.sentence_nll(z, alone.dec_in, alone.target, alone.lengths)
    r2 = model.sentence_nll(z.expand(2, -1), padded.dec_in, padded.target, padded.lengths)
    assert r1[0].item() == pytest.approx(r2[0].item(), rel=1e-5)


def test_segment_means_split_each_sentence_evenly() -> None:
    out = torch.arange(8.0).view(1, 8, 1).expand(2, -1, -1)
    means = segment_means(out, torch.tensor([8, 2]), 4)
    assert means[0, :, 0].tolist() == [0.5, 2.5, 4.5, 6.5]  # pairs of the 8 steps
    assert means[1, :, 0].tolist() == [0.0, 0.0, 1.0, 1.0]  # a 2-token sentence: every segment has a step


def test_gaussian_kl_matches_torch_distributions() -> None:
    mu, logvar = torch.randn(6, 4), torch.randn(6, 4)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(4), torch.ones(4))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    assert torch.allclose(gaussian_kl(mu, logvar), expected, atol=1e-5)


def test_ladder_merge_is_precision_weighted() -> None:
    mu, logvar = merge(torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([4.0]), torch.tensor([2.0]).log())
    # precisions 1 and 1/2: σ² = 1/1.5, μ = (1·1 + 4·0.5) / 1.5
    assert mu.item() == pytest.approx(2.0) and logvar.exp().item() == pytest.approx(1 / 1.5)


@pytest.mark.parametrize(("enc", "latent"), [("lstm", "dense"), ("cnn", "fmp"), ("lstm", "ladder"), ("cnn", "ladder")])
def test_importance_weights_match_the_closed_form_kl(enc: str, latent: str) -> None:
    """E_q[log q(z|x) − log p(z)] over the model's own posterior draws equals its KL (per layer: at the draws)."""
    model = build_model(
        tiny(enc, "lstm", latent=latent, ladder_z=[4, 3, 2], ladder_hidden=[8, 8, 8], conv_channels=[8, 8, 8]),
        len(VOCAB),
    ).eval()
    b = batch()
    with torch.no_grad():
        draws = model.posterior_draws(b.src, b.lengths, 20000, torch.Generator().manual_seed(0))
        if latent == "ladder":  # the KL of each draw's path, closed form per layer
            _, _, _, kl_dims, _ = model.top_down(
                model.bottom_up(b.src, b.lengths), 20000, True, torch.Generator().manual_seed(0)
            )
            expected = kl_dims.sum(-1).mean(0)
        else:
            expected = draws.posterior.kl_dims.sum(-1)
    assert draws.z.shape == (20000, 4, model.latent_dim)
    assert torch.allclose(-draws.log_ratio.mean(0), expected, atol=0.1, rtol=0.02)


def test_ladder_prior_is_drawn_top_down_through_the_conditional_priors() -> None:
    model = build_model(tiny("lstm", "lstm", latent="ladder", ladder_z=[3, 2]), len(VOCAB)).eval()
    with torch.no_grad():
        rung = model.p_rungs[0]
        rung.params.weight.zero_()
        rung.params.bias.copy_(torch.tensor([3.0, 3.0, 3.0, -20.0, -20.0, -20.0]))  # p(z₁|z₂) = N(3, ~1e-4)
        z = model.prior_z(4000, torch.Generator().manual_seed(0))
        again = model.prior_z(4000, torch.Generator().manual_seed(0))
    assert z.shape == (4000, 5) and torch.equal(z, again)
    assert torch.allclose(z[:, :3], torch.full((4000, 3), 3.0), atol=0.1)  # z₁ from its conditional prior
    top = z[:, 3:]  # z₂ ~ N(0, I)
    assert top.mean().abs() < 0.05 and (top.var() - 1).abs() < 0.05
    assert torch.equal(model.decoder_z(z), z[:, :3])  # the decoder reads z₁ only


def test_deconvolutional_decoder_decodes_each_position_on_its_own() -> None:
    """Not autoregressive: greedy decoding is the argmax of every position, cut at the first <eos>."""
    from textvae_core.decoding import DecodeConfig, decode

    model = build_model(tiny("cnn", "deconv"), len(VOCAB)).eval()
    z = torch.randn(6, model.latent_dim, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        model.out.bias[VOCAB.eos_id] += 0.5  # some positions end the sentence
        ids, _ = decode(model, z, DecodeConfig(method="greedy", max_len=50), VOCAB.bos_id, VOCAB.eos_id)
        best = model.logits(model.decoder.deconv(z)).argmax(-1)  # [6, seq_len]
    assert ids.size(1) <= model.cfg.seq_len  # never longer than the decoder is wide
    for row, want in zip(ids.tolist(), best.tolist(), strict=True):
        end = want.index(VOCAB.eos_id) + 1 if VOCAB.eos_id in want else len(want)
        assert row[:end] == want[:end]


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
        build_model(tiny("transformer", "lstm"), len(VOCAB))
    with pytest.raises(ConfigError, match="unknown latent"):
        build_model(tiny("lstm", "lstm", latent="flow"), len(VOCAB))


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"encoder": "cnn", "seq_len": 18}, "multiple of 2"),
        ({"latent": "ladder", "ladder_z": [4]}, "2 to 8"),
        ({"latent": "ladder", "ladder_hidden": [8, 8, 8]}, "one deterministic layer per stochastic layer"),
        ({"encoder": "cnn", "latent": "ladder", "conv_channels": [8, 8, 8]}, "one conv layer per stochastic layer"),
        ({"decoder": "deconv", "latent": "fmp", "fmp_positions": 3}, "set fmp_positions = 4"),
    ],
)
def test_impossible_combinations_say_what_to_change(kw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_model(tiny(**{"encoder": "lstm", "decoder": "lstm", **kw}), len(VOCAB))


def test_a_sentence_wider_than_a_fixed_width_model_is_refused() -> None:
    model = build_model(tiny("cnn", "lstm"), len(VOCAB)).eval()
    assert model.max_tokens == 15
    ok = make_batch([list(range(4, 19))], VOCAB)  # 15 tokens + <eos> = seq_len
    model.encode(ok.src, ok.lengths)
    long = make_batch([list(range(4, 20))], VOCAB)
    with pytest.raises(SequenceTooLong, match="16 tokens"):
        model.encode(long.src, long.lengths)


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


@pytest.mark.parametrize(("enc", "dec"), [("lstm", "lstm"), ("cnn", "hybrid")])
def test_batch_normalised_mu_acts_on_every_position_of_a_feature_map_latent(enc: str, dec: str) -> None:
    model = build_model(tiny(enc, dec, latent="fmp", mu_norm="batchnorm", mu_scale=0.5), len(VOCAB))
    b = batch()
    mu, _ = model.encode(b.src, b.lengths)
    assert mu.shape == (4, model.latent_dim) == (4, 4 * 5)
    assert torch.allclose(mu.mean(0), torch.zeros(20), atol=1e-5)
    raw = model.encoder(model.embedding(b.src), b.lengths)[0].var(0, unbiased=False)
    assert torch.allclose(mu.var(0, unbiased=False), 0.25 * raw / (raw + model.mu_bn.eps), rtol=1e-3)  # γ², BN's eps


def test_a_ladder_refuses_a_batch_normalised_mu_and_says_why() -> None:
    with pytest.raises(ConfigError, match=r"conditional priors.*mu_norm = none"):
        build_model(tiny("lstm", "lstm", latent="ladder", mu_norm="batchnorm"), len(VOCAB))


@pytest.mark.parametrize(("enc", "dec", "latent"), [("lstm", "lstm", "ladder"), ("cnn", "hybrid", "fmp")])
def test_the_bag_of_words_head_reads_the_whole_flat_latent(enc: str, dec: str, latent: str) -> None:
    model = build_model(tiny(enc, dec, latent=latent, bow_head=True), len(VOCAB))
    b = batch()
    out = model(b)
    assert model.bow_head.in_features == model.latent_dim > 5
    assert out.bow.shape == (4,) and bool((out.bow > 0).all())
    out.bow.sum().backward()
    assert model.embedding.weight.grad is not None  # through z into the encoder
