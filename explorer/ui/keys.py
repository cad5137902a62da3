"""Session-state keys shared by pages and the ui modules: one name each, so no page misspells another's."""

from __future__ import annotations

RUN_FOLDERS = "run_folders"  # list[str]: folders searched for runs in this session ($TEXTVAE_RUNS or checkpoints/)
CHOSEN_RUNS = "chosen_runs"  # list[str]: paths of the runs chosen on the Runs page or by clicking a point
RD_CLICKED = "rd_clicked"  # list[str]: the points last clicked on the Rate–distortion chart (applied once)
RD_HISTORY = "rd_hist"  # the Rate–distortion page's "Runs to plot" selector (reset when a click chooses runs)
SURVEY_SELECTED = "survey_selected"  # int: the survey last chosen on any survey page
ADMIN_UNLOCKED = "survey_admin"  # bool: this session gave the admin secret
VIEWER_UNLOCKED = "survey_viewer"  # bool: this session gave the admin or the read-only results secret
JUDGE_SHOWN = "shown"  # dict[item token, float]: when the judge first saw each item (answer times)
JUDGE_MESSAGE = "survey_message"  # str: a refusal to show the judge after the rerun (e.g. a double submit)
METRICS_TAILS = "metrics_tails"  # dict[run path, (byte offset, records)]: training logs read so far (live views)
TRAIN_WATCH = "watch"  # str: the run the Training page watches
TRAIN_RUN_NAME = "run_name"  # str: the name proposed for the next run launched from the Training page
