"""Human judgement surveys: blind pairwise reconstruction surveys and "makes sense" generation surveys.

db (tables, engine) · design (what a survey asks, item generation) · assign (which items a judge gets) ·
repo (what the pages do) · stats (results) · access (admin secret, judge links). No Streamlit here: the
survey pages (pages/survey_*.py) are thin layers over these modules. Needs the ``survey`` extra.
"""

from textvae_core.extras import require

require("survey", "surveys (explorer.survey)")
