"""The Training page's widget groups: the corpus, the new-run form (generated from the config dataclasses by
explorer.config_form: the common knobs up front, every other option in "All options"), the launch and C-sweep
buttons, the queue's cap, and one watched job (progress, state, stop / resume, curves, log).

What the choices mean (access, corpora, the form's fields) is decided in explorer.training and
explorer.config_form, the jobs themselves in explorer.jobs; this module only draws and wires the controls.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import streamlit as st

from textvae_core.config import SIZES, ConfigError, RunConfig
from textvae_core.corpus import CorpusError
from textvae_core.objectives import PRESETS
from textvae_core.rundir import is_run

from .. import config_form, jobs, plots, training
from ..config_form import DEFAULT, FieldSpec
from ..markup import md_escape
from ..runs import headline
from . import caches, keys

SOURCES = ("Penn Treebank (shipped)", "A folder on this server", "Upload a file")


def corpus(root: Path) -> tuple[dict[str, str], str]:
    """The corpus: the shipped PTB, a folder on the server, or an upload checked at once with the CLI's messages;
    returns its split files (none when unusable) and its format."""
    source = st.radio("Corpus", SOURCES, horizontal=True)
    splits, fmt = (dict(training.PTB), "text") if source == SOURCES[0] else ({}, "text")
    try:
        if source == SOURCES[1]:
            folder = st.text_input("Folder holding train / valid / test files (e.g. train.txt, ptb.valid.txt)")
            if folder:
                splits, fmt = training.folder_corpus(folder, training.corpus_roots(root))
        elif source == SOURCES[2]:
            up = st.file_uploader("UTF-8 text, one sentence per line, or label<TAB>sentence per line")
            if up is not None:
                upload = training.check_upload(up.getvalue(), up.name)
                labels = f", {len(upload.labels)} labels ({', '.join(upload.labels[:8])})" if upload.labels else ""
                st.success(
                    md_escape(f"{upload.name}: {upload.n_sentences:,} sentences{labels}; 5 % held out for validation, "
                              "5 % for test")
                )  # fmt: skip
                splits, fmt = training.save_upload(root, upload)
        if splits and source != SOURCES[0]:
            st.caption(" · ".join(f"{k}: `{v}`" for k, v in splits.items() if v) + f" · format: {fmt}")
    except (CorpusError, OSError) as err:
        st.error(md_escape(str(err)))
        splits = {}
    return splits, fmt


def start_from(splits: dict[str, str]) -> tuple[RunConfig, str]:
    """The configuration the form starts from: a run already here (its model, objective and optimiser, trained
    again on the corpus above), or an objective preset and a model size; and a name for what it came from."""
    runs = caches.all_runs()[0]
    own = "the choices below"
    picked = st.selectbox(
        "Start from", [own, *(r.name for r in runs)],
        help="A run's recipe on the corpus above: every option of the form starts from its config.json, with "
        "warm-ups set in steps kept as long in epochs on this corpus.",
    )  # fmt: skip
    if picked != own:
        run = next(r for r in runs if r.name == picked)
        o = run.config.objective
        knobs = ", ".join(f"{k} {v:g}" for k, v in (("m", o.m), ("β", o.beta), ("C", o.C)) if v is not None)
        st.caption(f"**{md_escape(run.name)}**: {md_escape(headline(run)['model'])}; {o.name} ({knobs})")
        return config_form.like_run(run.config, splits.get("train", "")), f"run:{run.path}"
    a, b, _ = st.columns([1, 1, 2], vertical_alignment="bottom")
    objective = a.selectbox("Objective", list(PRESETS), index=list(PRESETS).index("beta-c"))
    size = b.selectbox(
        "Size", list(SIZES), format_func=training.size_label, help=", ".join(f"{n}: {v}" for n, v in SIZES.items())
    )
    return config_form.starting_config(objective, size), f"{objective}|{size}"


def field(spec: FieldSpec, start: RunConfig, context: str, slot: Any = st) -> Any:
    """One option's widget, from its type; its key follows what the form started from, so a new preset, size or
    base run restarts it from that value."""
    value = config_form.get(start, spec.key)
    key = f"cfg:{spec.key}:{context}"
    label, help_ = spec.label, spec.help or None
    if spec.kind == "bool" and not spec.optional:
        return slot.checkbox(label, value=bool(value), help=help_, key=key)
    if spec.kind in ("int", "float"):
        number = int if spec.kind == "int" else float
        low = None if spec.low is None else number(spec.low)
        high = None if spec.high is None else number(spec.high)
        shown = None if value is None else number(value)
        fmt = "%d" if spec.kind == "int" else "%g"
        step = 1 if spec.kind == "int" else None
        return slot.number_input(label, low, high, shown, step, format=fmt, help=help_, key=key)
    if spec.kind in ("choice", "bool") or spec.key == "train.device":
        options: list[Any] = list(spec.choices) if spec.kind == "choice" else [True, False]
        if spec.key == "train.device":  # the devices this machine has
            options = training.devices()
        options = [DEFAULT, *options] if spec.optional else options
        shown = DEFAULT if value is None else value
        names = config_form.CHOICE_LABELS.get(spec.key, {})
        index = options.index(shown) if shown in options else 0
        picked = slot.selectbox(label, options, index, format_func=lambda v: names.get(v, str(v)), help=help_, key=key)
        return None if picked == DEFAULT else picked
    text = slot.text_input(label, config_form.text_of(spec, value), help=help_, key=key)
    return config_form.read_text(spec, text)


def options(start: RunConfig, context: str, root: Path) -> dict[str, Any]:
    """Every option's widget: the common knobs in rows of six, then "All options" by section."""
    values: dict[str, Any] = {}
    common = config_form.common_specs()
    if not context.startswith("run:") and start.train.num_threads == 0:  # the cores shared among the jobs
        start.train.num_threads = training.default_threads(jobs.max_jobs(root))
    for i in range(0, len(common), 6):
        row = st.columns(6)
        for slot, spec in zip(row, common[i : i + 6], strict=False):
            values[spec.key] = field(spec, start, _context(spec, context), slot)
    with st.expander("All options"):
        for section in ("run", "data", "model", "objective", "train"):
            specs = [s for s in config_form.field_specs() if s.section == section and not s.common]
            if specs:
                st.markdown(f"**{section}**")
            for i in range(0, len(specs), 4):
                row = st.columns(4)
                for slot, spec in zip(row, specs[i : i + 4], strict=False):
                    values[spec.key] = field(spec, start, _context(spec, context), slot)
    return values


def _context(spec: FieldSpec, context: str) -> str:
    """What a widget restarts with: an objective knob with the preset, a model field with the size, any with a
    base run or the rate recipe."""
    return context if spec.section in ("objective", "model") or context.startswith("run:") else ""


def run_name(slot: Any = st) -> str:
    """The run name, proposed from the time once per form and kept across reruns."""
    proposed = st.session_state.setdefault(keys.TRAIN_RUN_NAME, f"run-{time.strftime('%Y%m%d-%H%M%S')}")
    return slot.text_input("Run name", proposed)


def new_run(root: Path) -> None:
    """The corpus, the form and the launch buttons."""
    splits, fmt = corpus(root)
    start, context = start_from(splits)
    try:
        values = options(start, context, root)
        cfg = config_form.build(start, values, splits, fmt)
    except (ConfigError, ValueError) as err:  # a list option typed as text that is not one
        st.error(md_escape(str(err)))
        cfg = None
    launch(root, cfg if splits else None, run_name())


def launch(root: Path, cfg: RunConfig | None, name: str) -> None:
    """Launch one run, or queue a C sweep (one job per C, everything else the same); then the queue's cap."""
    go, ev, sw, go_sweep = st.columns([1, 2, 2, 1], vertical_alignment="bottom")
    evaluate = ev.checkbox(
        "Evaluate when done", True, help="The grid evaluation profile (eval.json), then the latent map."
    )
    sweep = sw.text_input("C sweep: C values", placeholder="5, 10, 20, 40")
    try:
        if go.button("Launch", type="primary", disabled=cfg is None) and cfg is not None:
            jobs.submit(root, name, cfg, evaluate=evaluate)
            st.session_state[keys.TRAIN_WATCH] = name
            st.session_state.pop(keys.TRAIN_RUN_NAME)
        if go_sweep.button("Queue the C sweep", disabled=not (cfg and sweep)) and cfg is not None:
            for cap in training.parse_sweep(sweep):
                jobs.submit(
                    root, training.sweep_name(name, cap), config_form.with_capacity(cfg, cap), evaluate=evaluate
                )
            st.session_state.pop(keys.TRAIN_RUN_NAME)
    except (jobs.JobError, ValueError) as err:
        st.error(md_escape(str(err)))
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
        st.info(f"No jobs yet: runs launched here are trained in `{md_escape(str(root))}`.")
    else:
        widths = {k: st.column_config.TextColumn(k, width=w) for k, w in training.JOB_COLUMNS.items()}
        st.dataframe([training.job_row(s) for s in statuses], hide_index=True, width="stretch", column_config=widths)
    return statuses


def watched(statuses: list[jobs.JobStatus]) -> jobs.JobStatus:
    """The job chosen to watch (the one just launched, else the newest)."""
    names = [s.name for s in statuses]
    if st.session_state.get(keys.TRAIN_WATCH) not in names:
        st.session_state[keys.TRAIN_WATCH] = names[0]
    picked = st.selectbox("Watch", names, key=keys.TRAIN_WATCH)
    return next(s for s in statuses if s.name == picked)


def job_view(root: Path, status: jobs.JobStatus) -> None:
    """One job: progress (steps, tokens/s and the time left while it trains; where it ended once it stopped),
    its state, stop / resume / evaluate-when-done, curves, log."""
    records = caches.metrics_tail(status.run_dir)
    if shown := jobs.progress(records):
        st.progress(shown.fraction, text=shown.text(status.state))
    {"failed": st.error, "stopped": st.warning, "finished": st.success}.get(status.state, st.info)(
        f"**{md_escape(status.name)}** — {md_escape(status.summary())}"
    )
    left, mid, _ = st.columns([1, 1, 3])
    name, evaluate = status.name, bool(status.job.get("evaluate"))
    try:
        if status.state in (*jobs.ACTIVE, "queued") and left.button("Stop", key=f"stop-{name}"):
            st.toast(jobs.stop(status.run_dir))
        if status.state in ("stopped", "failed") and is_run(status.run_dir):  # else: fix the options, launch anew
            label = "Resume" if status.checkpoint_step else "Start again"  # no checkpoint: resume starts afresh
            if left.button(label, key=f"resume-{name}"):
                jobs.submit(root, name, resume=True, evaluate=evaluate)
    except jobs.JobError as err:
        st.error(md_escape(str(err)))
    if status.state in ("queued", "starting", "running"):
        on = mid.toggle("Evaluate when done", evaluate, key=f"eval-{name}")
        if on != evaluate:
            jobs.set_evaluate(status.run_dir, on)
    if records:
        st.plotly_chart(plots.training_curves(records, training.capacity(status.run_dir)), key=f"curves-{name}")
    with st.expander("Log (last lines)"):
        st.code(training.log_tail(status.run_dir), language=None)
