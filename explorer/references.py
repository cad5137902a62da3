"""Published figures shown beside ours, as data (Prokhorov et al. 2019, Table 1, CBT corpus, β_C-VAE LSTM).

The paper's D column is normalised differently from ours (it is below 1), so only its trend with C
is comparable; R, AU (of 64 dims), log det Cov, ‖μ‖² and BLEU / ROUGE are on the same scale.
"""

from __future__ import annotations

import pandas as pd

SOURCE = "Prokhorov et al. 2019, Table 1 (CBT, LSTM, z 64)"

BETA_C_TABLE1 = [
    # C, R, AU, log det Cov, ‖μ‖², BLEU-2 (all), BLEU-4 (all), ROUGE-2 (all), ROUGE-4 (all)
    (3, 3, 8, -0.39, 0.05, 9.46, 1.57, 3.54, 0.12),
    (15, 15, 29, -0.38, 0.05, 15.87, 4.60, 8.86, 1.43),
    (100, 99, 64, -43.82, 1.27, 27.65, 16.09, 24.33, 14.24),
]
COLUMNS = ["C", "R", "AU", "log det Cov", "‖μ‖²", "BLEU-2", "BLEU-4", "ROUGE-2", "ROUGE-4"]


def beta_c_table() -> pd.DataFrame:
    return pd.DataFrame(BETA_C_TABLE1, columns=COLUMNS)
