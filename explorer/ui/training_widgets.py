"""The Training page's widget groups: the new-run form (corpus, objective, model, optimisation), the launch
and C-sweep buttons, the queue's cap, and one watched job (progress, state, stop / resume, curves, log).

What the choices mean (access, corpora, the CLI options a form becomes) is decided in explorer.training,
the jobs themselves in explorer.jobs; this module only draws and wires the controls.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from textvae_core.config import SIZES, RunConfig
from textvae_core.corpus import CorpusError
from textvae_core.objectives import PRESETS, SCHEDULES
from textvae_core.rundir import CONFIG

from .. import jobs, plots, training
from ..markup import md_escape
from ..runs import headline
from . import caches, keys

SOURCES = ("Penn Treebank (shipped)", "A folder on this server", "Upload a file")


def corpus(root: Path, form: training.RunForm) -> None:
    """The corpus: the shipped PTB, a folder on the server, or an upload checked at once with the CLI's messages."""
    source = st.radio("Corpus", SOURCES, horizontal=True)
    try:
        if source == SOURCES[1]:
            folder = st.text_input("Folder holding train / valid / test files (e.g. train.txt, ptb.valid.txt)")
            form.corpus, form.fmt = training.folder_corpus(folder) if folder else ({}, "text")
        elif source == SOURCES[2]:
            up = st.file_uploader("UTF-8 text, one sentence per line, or label<TAB>sentence per line")
            form.corpus = {}
            if up is not None:
                upload = training.check_upload(up.getvalue(), up.name)
                labels = f", {len(upload.labels)} labels ({', '.join(upload.labels[:8])})" if upload.labels else ""
                st.success(
                    f"{upload.name}: {upload.n_sentences:,} sentences{labels}; 5 % held out for validation, 5 % for test"
                )
                form.corpus, form.fmt = training.save_upload(root, upload)
        if form.corpus and source != SOURCES[0]:
            st.caption(" · ".join(f"{k}: `{v}`" for k, v in form.corpus.items() if v) + f" · format: {form.fmt}")
    except (CorpusError, OSError) as err:
        st.error(str(err))
        form.corpus = {}


def start_from(form: training.RunForm) -> bool:
    """Train like a run already here (its config.json: model, objective, optimiser), or from the choices
    below; True when a run was picked, whose recipe is then summed up in a line."""
    runs = caches.all_runs()[0]
    own = "the choices below"
    picked = st.selectbox(
        "Start from", [own, *(r.name for r in runs)],
        help="A run's recipe (e.g. ptb-lstm-record, the likelihood run, or ptb-lstm-bc100) on the corpus above: "
        "its model, objective and optimiser, with warm-ups set in steps kept as long in epochs on this corpus.",
    )  # fmt: skip
    if picked == own:
        return False
    run = next(r for r in runs if r.name == picked)
    form.base = str(run.path / CONFIG)
    o = run.config.objective
    knobs = ", ".join(f"{k} {v:g}" for k, v in (("m", o.m), ("β", o.beta), ("C", o.C)) if v is not None)
    st.caption(f"**{md_escape(run.name)}**: {md_escape(headline(run)['model'])}; {o.name} ({knobs})")
    return True


def like_base(root: Path, form: training.RunForm) -> str:
    """Budget, device and threads for a run trained like another one; returns the run name."""
    a = st.columns([1, 1, 1, 3])
    base_epochs = RunConfig.load(Path(form.base)).train.epochs
    form.epochs = a[0].number_input("Epochs", 0.01, 1000.0, float(base_epochs), key=f"epochs-{form.base}")
    form.device = a[1].selectbox("Device", training.devices(), key="like-device")
    threads = training.default_threads(jobs.max_jobs(root))
    form.threads = a[2].number_input("CPU threads", 1, 256, threads, help=training.THREADS_HELP, key="like-threads")
    return run_name(a[3])


def run_name(slot: object) -> str:
    """The run name, proposed from the time once per form and kept across reruns."""
    proposed = st.session_state.setdefault(keys.TRAIN_RUN_NAME, f"run-{time.strftime('%Y%m%d-%H%M%S')}")
    return slot.text_input("Run name", proposed)


def objective(form: training.RunForm) -> None:
    """The objective preset and its knobs m, β schedule, β_max, warm-up and C (each preset's values to start)."""
    c = st.columns(7)
    form.objective = c[0].selectbox("Objective", list(PRESETS), index=list(PRESETS).index("beta-c"))
    p = PRESETS[form.objective]
    k = form.objective  # knob widgets restart from each preset's values
    form.knobs = {
        "m": c[1].number_input("m (extra reconstructions)", 0.0, 100.0, float(p.get("m", 0.0)), key=f"m-{k}"),
        "schedule": c[2].selectbox("β schedule", list(SCHEDULES), list(SCHEDULES).index(p.get("schedule", "constant")), key=f"s-{k}"),
        "beta": c[3].number_input("β_max", 0.0, 100.0, float(p.get("beta", 1.0)), key=f"b-{k}"),
        "warmup_steps": c[4].number_input("Warm-up steps", 0, 10**7, int(p.get("warmup_steps", 0)), key=f"w-{k}"),
        "C": c[5].number_input("C (nats; empty: none)", 0.0, 1e4, p.get("C"), key=f"c-{k}"),
        "alpha": c[6].number_input("α (Hybrid: D_aux weight)", 0.0, 100.0, float(p.get("alpha", 0.0)), key=f"a-{k}"),
    }  # fmt: skip
    r = st.columns([4, 2, 2, 3])
    form.recipe = r[0].checkbox(
        "Make z describe the sentence (rate recipe)",
        value=False,
        help="Batch-normalised μ with a learned scale, a bag-of-words loss on z, random batches, and C ramped over "
        "the first two epochs. Without it a large C is met by moving every code off the prior alike "
        "(docs/ABLATION.md: at C = 100, D 102.7 → 87.7 and BLEU-4 0.8 → 6.8 with it).",
    )
    form.keep_best = r[1].selectbox(
        "Weights to keep", list(training.KEEP_CHOICES), format_func=training.KEEP_CHOICES.get,
        help="The best validation's weights are what the app loads and evaluates; the last step's stay for resuming. "
        "Long runs overfit PTB: the β_C runs at 512 hidden units had their lowest valid D at epochs 5–7 of 10.",
    )  # fmt: skip
    form.knobs["free_bits"] = r[2].number_input(
        "Free bits λ (nats/dim)", 0.0, 100.0, float(p.get("free_bits", 0.0)), key=f"fb-{k}",
        help="K = Σ_d max(λ, batch-mean KL_d) (Kingma et al. 2016): each dimension's first λ nats cost nothing, so "
        "the optimiser does not close it. Instead of a capacity C (leave C empty); 0 = off.",
    )  # fmt: skip
    form.aggressive = r[3].checkbox(
        "Aggressive encoder updates", value=False,
        help="He et al. 2019: before each step the encoder alone is updated on random batches until its loss stops "
        "falling (≤ 100 updates), the step then moves the decoder alone; this ends when validation I(x; z) falls. "
        "Each step of that phase costs tens of ordinary ones (about 50 at the start of a small PTB run here).",
    )  # fmt: skip


def model_and_optimiser(root: Path, form: training.RunForm) -> str:
    """Architecture, size, epochs, word dropout, device, batch, learning rate, threads, a tied output layer,
    decoder dropout, how z enters the decoder, the lr schedule, the weight average; returns the run name."""
    from textvae_core.models import DECODERS, ENCODERS  # imports torch: only this page, only when drawn

    a = st.columns(6)
    form.encoder, form.decoder = a[0].selectbox("Encoder", list(ENCODERS)), a[1].selectbox("Decoder", list(DECODERS))
    form.size = a[2].selectbox("Size", list(SIZES), help=", ".join(f"{n}: {v}" for n, v in SIZES.items()))
    form.epochs = a[3].number_input("Epochs", 0.01, 1000.0, 1.0)
    form.word_dropout = a[4].slider("Word dropout", 0.0, 1.0, 0.0, 0.05)
    form.device = a[5].selectbox("Device", training.devices())
    b = st.columns([1, 1, 1, 1, 2, 2])  # the checkbox's label whole
    form.latent = b[0].selectbox("Latent", list(training.LATENTS), help=training.LATENT_HELP)
    form.batch_size = b[1].number_input("Batch size", 1, 4096, 64)
    form.lr = b[2].number_input("Learning rate", 1e-6, 1.0, 1e-3, format="%.0e")
    threads = training.default_threads(jobs.max_jobs(root))
    form.threads = b[3].number_input("CPU threads", 1, 256, threads, help=training.THREADS_HELP)
    form.tie = b[4].checkbox("Tie output layer", help=training.TIE_HELP)
    c = st.columns([1, 1, 1, 1, 1, 1, 1])  # under the row above
    form.dropout = c[0].slider(
        "Decoder dropout", 0.0, 0.9, 0.0, 0.05,
        help="On the decoder's input embeddings and its outputs. Large models overfit PTB without it: at hidden 512 "
        "0.3 kept validation D falling through 10 epochs (docs/PAPER_SIZE.md).",
    )  # fmt: skip
    form.z_mode = c[1].selectbox(
        "z in decoder", list(training.Z_MODES), format_func=training.Z_MODES.get,
        help="RNN decoders: z joins each input word, starts the state, or both. Both added about 0.5 BLEU-4 to "
        "each input alone at C = 100 (docs/ABLATION.md, docs/PAPER_SIZE.md).",
    )  # fmt: skip
    schedule = c[2].selectbox(
        "LR schedule", list(training.LR_SCHEDULES), format_func=training.LR_SCHEDULES.get,
        help="Constant; multiplied by a factor after each validation whose −ELBO (D when the weights kept are the "
        "best D's) is not a new best; or falling on a half cosine to a final lr at the last step. At C = 100 a "
        "plateau decay past epoch 10 added 1.2 BLEU-4 in 9 epochs, a cosine held to epoch 10 then falling 1.0 in 2.5; "
        "a cosine over the 10 epochs cost 0.5 (docs/PAPER_SIZE.md).",
    )  # fmt: skip
    form.lr_schedule = "cosine" if schedule == "cosine" else "constant"
    if schedule == "cosine":
        form.lr_final = c[3].number_input("Final LR", 0.0, 1.0, 0.0, format="%.0e")
        form.lr_hold = c[4].number_input(
            "Hold (epochs)", 0.0, max(0.0, form.epochs - 0.1), 0.0, 0.5,
            help="Epochs at the starting lr before the cosine begins to fall (warmup-stable-decay): the fall then "
            "spans the remaining epochs. 0: it falls from the first step.",
        )  # fmt: skip
    elif schedule == "plateau":
        form.lr_decay = c[3].number_input("Decay ×", 0.01, 0.99, 0.5, 0.05)
        form.lr_min_gain = c[4].number_input(
            "Min. gain (nats)", 0.0, 100.0, 0.0, 0.05,
            help="A validation counts as a new best only this many nats per sentence below the best, so a "
            "plateau that creeps down by hundredths lowers the learning rate too.",
        )  # fmt: skip
    form.average_from = c[5].number_input(
        "Average weights from (epoch)", 0.0, max(0.0, form.epochs - 0.01), 0.0, 0.25,
        help="Stochastic weight averaging: from this epoch on, validation, the kept weights and the shipped ones "
        "are the mean of the weights, one sample every few updates. At C = 100 the mean over epochs 8–10 lowered "
        "test D by 0.8 nats and added 0.44 BLEU-4 at no extra training (docs/PAPER_SIZE.md); over the last quarter "
        "of a 4-epoch GRU sweep run it holds the KL on C, which the last update's weights miss by up to a nat "
        "(experiments/grid.toml). 0: off.",
    )  # fmt: skip
    form.average_every = c[6].number_input(
        "… one sample every (updates)", 1, 100_000, 100, disabled=not form.average_from,
        help="Updates between the average's samples: 100 over epochs 8–10 of the paper's size; 5 over the last "
        "quarter epoch of a sweep run (33 samples).",
    )  # fmt: skip
    return run_name(b[5])


def launch(root: Path, form: training.RunForm, name: str) -> None:
    """Launch one run, or queue a C sweep (one job per C, everything else the same); then the queue's cap."""
    go, ev, sw, go_sweep = st.columns([1, 2, 2, 1], vertical_alignment="bottom")
    evaluate = ev.checkbox(
        "Evaluate when done", True, help="The grid evaluation profile (eval.json), then the latent map."
    )
    sweep = sw.text_input("C sweep: C values", placeholder="5, 10, 20, 40")
    try:
        if go.button("Launch", type="primary", disabled=not form.corpus):
            jobs.submit(root, name, form.args(), evaluate=evaluate)
            st.session_state[keys.TRAIN_WATCH] = name
            st.session_state.pop(keys.TRAIN_RUN_NAME)
        if go_sweep.button("Queue the C sweep", disabled=not (form.corpus and sweep)):
            for cap in training.parse_sweep(sweep):
                jobs.submit(root, training.sweep_name(name, cap), form.args(C=cap), evaluate=evaluate)
            st.session_state.pop(keys.TRAIN_RUN_NAME)
    except (jobs.JobError, ValueError) as err:
        st.error(str(err))
    with st.expander("Queue"):
        cap = st.number_input("Jobs at once (the rest wait in the queue)", 1, 64, jobs.max_jobs(root))
        if cap != jobs.max_jobs(root):
            jobs.set_max_jobs(root, int(cap))


def jobs_table(root: Path) -> list[jobs.JobStatus]:
    """Every job of the training folder in a table (queued ones started when the cap allows)."""
    statuses = jobs.list_jobs(root)
    if any(s.state == "queued" for s in statuses) and jobs.pump(root):  # e.g. queued before a reboot
        statuses = jobs.list_jobs(root)
    if not statuses:
        st.info(f"No jobs yet: runs launched here are trained in `{root}`.")
    else:
        st.dataframe([training.job_row(s) for s in statuses], hide_index=True, width="stretch")
    return statuses


def watched(statuses: list[jobs.JobStatus]) -> jobs.JobStatus:
    """The job chosen to watch (the one just launched, else the newest)."""
    names = [s.name for s in statuses]
    if st.session_state.get(keys.TRAIN_WATCH) not in names:
        st.session_state[keys.TRAIN_WATCH] = names[0]
    picked = st.selectbox("Watch", names, key=keys.TRAIN_WATCH)
    return next(s for s in statuses if s.name == picked)


def job_view(root: Path, status: jobs.JobStatus) -> None:
    """One job: progress (steps, tokens/s, ETA), its state, stop / resume / evaluate-when-done, curves, log."""
    records = caches.metrics_tail(status.run_dir)
    if shown := jobs.progress(records):
        st.progress(shown.fraction, text=shown.text())
    {"failed": st.error, "stopped": st.warning, "finished": st.success}.get(status.state, st.info)(
        f"**{md_escape(status.name)}** — {md_escape(status.summary())}"
    )
    left, mid, _ = st.columns([1, 1, 3])
    name, evaluate = status.name, bool(status.job.get("evaluate"))
    try:
        if status.state in (*jobs.ACTIVE, "queued") and left.button("Stop", key=f"stop-{name}"):
            st.toast(jobs.stop(status.run_dir))
        resumable = status.state in ("stopped", "failed") and status.checkpoint_step
        if resumable and left.button("Resume", key=f"resume-{name}"):
            jobs.submit(root, name, [], resume=True, evaluate=evaluate)
    except jobs.JobError as err:
        st.error(str(err))
    if status.state in ("queued", "starting", "running"):
        on = mid.toggle("Evaluate when done", evaluate, key=f"eval-{name}")
        if on != evaluate:
            jobs.set_evaluate(status.run_dir, on)
    if records:
        st.plotly_chart(plots.training_curves(records, training.capacity(status.run_dir)), key=f"curves-{name}")
    with st.expander("Log (last lines)"):
        st.code(training.log_tail(status.run_dir), language=None)
