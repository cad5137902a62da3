"""Training: launch runs as their own processes, watch them live, stop, resume, evaluate when done."""

from __future__ import annotations

import time

import streamlit as st

from explorer import jobs, plots, training
from explorer.markup import md_escape
from explorer.survey import access
from explorer.ui import auth, caches, keys, nav
from textvae_core.config import SIZES
from textvae_core.corpus import CorpusError
from textvae_core.objectives import PRESETS, SCHEDULES

nav.page("Training")
mode, note = training.training_access(st.get_option("server.address"), bool(access.configured("admin", st.secrets)))
if mode == "locked":
    st.error(f"{note}\n\n{access.HOW_TO}")
    st.stop()
if mode == "secret":
    auth.unlock("admin")
st.caption(note)
root = jobs.train_root()

with st.expander("New run", expanded=not any(s.state in jobs.ACTIVE for s in jobs.list_jobs(root))):
    form = training.RunForm()
    source = st.radio(
        "Corpus", ["Penn Treebank (shipped)", "A folder on this server", "Upload a file"], horizontal=True
    )
    try:
        if source.startswith("A folder"):
            folder = st.text_input("Folder holding train / valid / test files (e.g. train.txt, ptb.valid.txt)")
            form.corpus, form.fmt = training.folder_corpus(folder) if folder else ({}, "text")
        elif source.startswith("Upload"):
            up = st.file_uploader("UTF-8 text, one sentence per line, or label<TAB>sentence per line")
            form.corpus = {}
            if up is not None:
                upload = training.check_upload(up.getvalue(), up.name)
                labels = f", {len(upload.labels)} labels ({', '.join(upload.labels[:8])})" if upload.labels else ""
                st.success(
                    f"{upload.name}: {upload.n_sentences:,} sentences{labels}; 5 % held out for validation, 5 % for test"
                )
                form.corpus, form.fmt = training.save_upload(root, upload)
        if form.corpus and source != "Penn Treebank (shipped)":
            st.caption(" · ".join(f"{k}: `{v}`" for k, v in form.corpus.items() if v) + f" · format: {form.fmt}")
    except (CorpusError, OSError) as err:
        st.error(str(err))
        form.corpus = {}
    c = st.columns(6)
    form.objective = c[0].selectbox("Objective", list(PRESETS), index=list(PRESETS).index("beta-c"))
    p = PRESETS[form.objective]
    k = form.objective  # knob widgets restart from each preset's values
    form.knobs = {
        "m": c[1].number_input("m (extra reconstructions)", 0.0, 100.0, float(p.get("m", 0.0)), key=f"m-{k}"),
        "schedule": c[2].selectbox("β schedule", list(SCHEDULES), list(SCHEDULES).index(p.get("schedule", "constant")), key=f"s-{k}"),
        "beta": c[3].number_input("β_max", 0.0, 100.0, float(p.get("beta", 1.0)), key=f"b-{k}"),
        "warmup_steps": c[4].number_input("Warm-up steps", 0, 10**7, int(p.get("warmup_steps", 0)), key=f"w-{k}"),
        "C": c[5].number_input("C (nats; empty: none)", 0.0, 1e4, p.get("C"), key=f"c-{k}"),
    }  # fmt: skip
    from textvae_core.models import DECODERS, ENCODERS  # imports torch: only this page, only when drawn

    a = st.columns(6)
    form.encoder, form.decoder = a[0].selectbox("Encoder", list(ENCODERS)), a[1].selectbox("Decoder", list(DECODERS))
    form.size = a[2].selectbox("Size", list(SIZES), help=", ".join(f"{n}: {v}" for n, v in SIZES.items()))
    form.epochs = a[3].number_input("Epochs", 0.01, 1000.0, 1.0)
    form.word_dropout = a[4].slider("Word dropout", 0.0, 1.0, 0.0, 0.05)
    form.device = a[5].selectbox("Device", training.devices())
    b = st.columns([1, 1, 1, 3])
    form.batch_size = b[0].number_input("Batch size", 1, 4096, 64)
    form.lr = b[1].number_input("Learning rate", 1e-6, 1.0, 1e-3, format="%.0e")
    threads = training.default_threads(jobs.max_jobs(root))
    form.threads = b[2].number_input("CPU threads", 1, 256, threads, help=training.THREADS_HELP)
    name = b[3].text_input("Run name", st.session_state.setdefault(keys.TRAIN_RUN_NAME, f"run-{time.strftime('%Y%m%d-%H%M%S')}"))
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
        if go_sweep.button("Queue the C sweep", disabled=not (form.corpus and sweep)):  # same options, one job per C
            for cap in training.parse_sweep(sweep):
                jobs.submit(root, training.sweep_name(name, cap), form.args(C=cap), evaluate=evaluate)
            st.session_state.pop(keys.TRAIN_RUN_NAME)
    except (jobs.JobError, ValueError) as err:
        st.error(str(err))
    with st.expander("Queue"):
        cap = st.number_input("Jobs at once (the rest wait in the queue)", 1, 64, jobs.max_jobs(root))
        if cap != jobs.max_jobs(root):
            jobs.set_max_jobs(root, int(cap))


@st.fragment(run_every=1.5)
def live() -> None:
    """Re-reads the jobs' files every 1.5 s: the page around it does not rerun."""
    statuses = jobs.list_jobs(root)
    if any(s.state == "queued" for s in statuses) and jobs.pump(root):  # e.g. queued before a reboot
        statuses = jobs.list_jobs(root)
    if not statuses:
        st.info(f"No jobs yet: runs launched here are trained in `{root}`.")
        return
    st.dataframe([training.job_row(s) for s in statuses], hide_index=True, width="stretch")
    names = [s.name for s in statuses]
    if st.session_state.get("watch") not in names:
        st.session_state[keys.TRAIN_WATCH] = names[0]
    picked = st.selectbox("Watch", names, key=keys.TRAIN_WATCH)
    status = next(s for s in statuses if s.name == picked)
    records = caches.metrics_tail(status.run_dir)
    shown = jobs.progress(records)
    if shown:
        st.progress(shown.fraction, text=shown.text())
    {"failed": st.error, "stopped": st.warning, "finished": st.success}.get(status.state, st.info)(
        f"**{md_escape(status.name)}** — {md_escape(status.summary())}"
    )
    left, mid, _ = st.columns([1, 1, 3])
    try:
        if status.state in (*jobs.ACTIVE, "queued") and left.button("Stop", key=f"stop-{picked}"):
            st.toast(jobs.stop(status.run_dir))
        if (
            status.state in ("stopped", "failed")
            and status.checkpoint_step
            and left.button("Resume", key=f"resume-{picked}")
        ):
            jobs.submit(root, picked, [], resume=True, evaluate=bool(status.job.get("evaluate")))
    except jobs.JobError as err:
        st.error(str(err))
    if status.state in ("queued", "starting", "running"):
        on = mid.toggle("Evaluate when done", bool(status.job.get("evaluate")), key=f"eval-{picked}")
        if on != bool(status.job.get("evaluate")):
            jobs.set_evaluate(status.run_dir, on)
    if records:
        st.plotly_chart(plots.training_curves(records, training.capacity(status.run_dir)), key=f"curves-{picked}")
    with st.expander("Log (last lines)"):
        st.code(training.log_tail(status.run_dir), language=None)


live()
