"""The capacity study's section of docs/ABLATION.md is written from its stored figures (experiments/capacity.py)."""

from __future__ import annotations

from experiments import capacity


def _row(C: float, kl: float, rec: float = 100.0, bleu4: float = 5.0) -> dict:
    return {
        "C": C, "kl": kl, "rec": rec, "nll_bound": rec + kl, "mean_sq_norm": 0.05, "active_units": 32,
        "mutual_information": 2.0, "bleu4": bleu4, "train_kl_last_epoch": kl, "multiplier_end": 1.0,
    }  # fmt: skip


def test_the_section_counts_the_capacities_held_and_names_a_miss() -> None:
    rows = {f"default-c{c:g}": _row(c, c + 0.2) for c in (1.0, 3.0, 5.0, 15.0, 50.0)}
    rows["gammadual-c100"] = _row(100.0, 101.5)  # default-c100 is this run: 1.5 nats over
    rows["before-c3"] = _row(3.0, 12.4)
    text = "\n".join(capacity.section(rows))
    assert "| default-c100 |" in text and "| 1.50 |" in text  # the miss is shown, not hidden
    assert "5 of 6 capacities measured end within C ± 1" in text
    assert "C = 3 ended at KL 12.40" in text  # the floor's finding quotes the stored figure
    assert "\\|KL − C\\|" in text  # a literal bar in a cell is escaped, so the table keeps its columns


def test_rows_are_the_variants_at_their_capacities_and_gamma_puts_the_floor_under_C() -> None:
    names = [r.name for r in capacity.ROWS]
    assert len(names) == len(set(names)) and "default-c1" in names and "default-c100" in names
    for C in (1.0, 3.0, 5.0):  # at a small C the floor is most of C: the codes still differ from the start
        floor = 0.5 * capacity.Z_DIM * capacity.gamma_from_capacity(C, capacity.Z_DIM) ** 2
        assert 0.8 * C < floor < C
    gamma_row = capacity.BY_NAME["gamma-c3"].argv()
    assert any(a.startswith("--model.mu_scale=0.41") for a in gamma_row)
    assert capacity.BY_NAME["default-c100"].argv()[-1].endswith("gammadual-c100")
