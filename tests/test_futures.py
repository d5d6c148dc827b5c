"""Uncertain demand (spec section 7): a two-stage plan worked out by hand.

One market, 16,000 tok/s = one aws p5 (8 h100 chips at 2000 tok/s each), all of 2027
(8,760 hours). On-demand p5: 80 $/h = 700,800 a year; a 12-month commitment (40 % off for
h100 in the conftest catalog): 48 $/h = 420,480. Futures: low (p 0.5) needs 1 p5, high
(p 0.5, demand x2) needs 2.
  commit 0: low 700,800      high 1,401,600   E 1,051,200
  commit 1: low 420,480      high 1,121,280   E   770,880  <- the plan
  commit 2: low 840,960      high   840,960   E   840,960
Expected demand (x1.5 = 24,000 tok/s = 12 chips) alone commits 2 instances: EEV 840,960, so
VSS = 840,960 - 770,880 = 70,080. Each future known in advance: 420,480 and 840,960, mean
630,720, so EVPI = 770,880 - 630,720 = 140,160.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.futures.twostage import FuturesPlan, _tighten

from conftest import workload

YEAR = "horizon: {start: 2027-01, months: 12}\npurchase: {terms: [12]}\n"
FUTURES = """uncertainty:
  futures:
    low: {probability: 0.5}
    high: {probability: 0.5, demand: 2.0}
"""


def test_two_futures_by_hand(make):
    fp = planner.solve(make(YEAR + workload("{us-east: 16000}") + FUTURES))
    assert isinstance(fp, FuturesPlan) and fp.status == "optimal"
    assert fp.commitments()["instances"].tolist() == [1.0]
    assert fp.futures()["total_cost"].tolist() == pytest.approx([420480, 1121280])
    assert fp.expected_cost == pytest.approx(770880)
    assert fp.vss.value == pytest.approx(70080)
    assert fp.evpi.value == pytest.approx(140160)
    assert fp.quantile(0.5) == pytest.approx(420480)
    assert fp.cvar == pytest.approx(1121280)


def test_a_commitment_bought_for_the_high_future(make):
    """Whole instances; high (p 0.7) needs 2 p5, low (p 0.3) 1. The second commitment
    idles in the low future (420,480 wasted) and saves 280,320 in the high one:
      commit 1: low 420,480  high 1,121,280  E 911,040
      commit 2: low 840,960  high   840,960  E 840,960  <- the plan
    Expected demand (1.7 p5: 2 whole) commits 2 as well: VSS 0. Hindsight: 420,480 and
    840,960, E 714,816, so EVPI = 840,960 - 714,816 = 126,144."""
    fp = planner.solve(make(YEAR + workload("{us-east: 16000}") + """uncertainty:
  futures:
    low: {probability: 0.3}
    high: {probability: 0.7, demand: 2.0}
"""))
    assert fp.status == "optimal" and fp.commitments()["instances"].tolist() == [2.0]
    assert fp.futures()["total_cost"].tolist() == pytest.approx([840960, 840960])
    assert fp.vss.value == pytest.approx(0, abs=1e-6)
    assert fp.evpi.value == pytest.approx(126144)
    assert fp.evpi.low <= 126144 <= fp.evpi.high


def test_hindsight_bounds_a_whole_instance_plan_the_lp_leaves_loose(make):
    """Low (p 0.3) needs half a p5, high (p 0.7) one and a half. Whole instances:
      commit 1: low 420,480  high 420,480 + 700,800 = 1,121,280  E 911,040
      commit 2: low 840,960  high 840,960                        E 840,960  <- the plan
    The two-stage LP commits 1.5 p5 (each commitment above 0.5 saves 0.7 x 700,800 =
    490,560 for its 420,480): 630,720, a 25 % gap. Each future alone, whole: 1 and 2
    commitments, E = 0.3 x 420,480 + 0.7 x 840,960 = 714,816: a bound on the plan too,
    and the higher one."""
    futures = """uncertainty:
  futures:
    low: {probability: 0.3, demand: 0.5}
    high: {probability: 0.7, demand: 1.5}
"""
    lp = planner.solve(make(YEAR.replace("[12]", "[12], integer: false") +
                            workload("{us-east: 16000}") + futures))
    assert lp.expected_cost == pytest.approx(630720)
    fp = planner.solve(make(YEAR + workload("{us-east: 16000}") + futures))
    assert fp.commitments()["instances"].tolist() == [2.0]
    assert fp.expected_cost == pytest.approx(840960)
    assert fp.evpi.value == pytest.approx(840960 - 714816)

    # a search that stopped at the LP's bound: hindsight raises it, the gap shrinks, and
    # the status is proven only when the gap asked for is reached
    fp.solver.update(bound=630720.0, gap=0.25)
    fp.status = "not_proven"
    _tighten(fp, 714816.0, None)
    assert fp.solver["bound"] == 714816.0 and fp.status == "not_proven"
    assert fp.solver["gap"] == pytest.approx(1 - 714816 / 840960)
    fp.solver.update(bound=630720.0, gap=0.25)
    _tighten(fp, 714816.0, 0.2)
    assert fp.status == "optimal"
    # the LP's bound never lowers it again
    _tighten(fp, 630720.0, None)
    assert fp.solver["bound"] == 714816.0


def test_values_of_plans_not_proven_are_intervals_never_below_zero():
    from planner.futures.twostage import Bounded

    # both proven: the difference, inside the interval the bounds give
    both = Bounded.of((1000.0, 999.0, True), (900.0, 899.5, True))
    assert (both.value, both.low, both.high) == (100.0, 99.0, 100.5)
    # the plan (less) not proven and dearer than the other: no negative value, an interval
    loose = Bounded.of((1000.0, 990.0, True), (1010.0, 950.0, False))
    assert loose.value is None and (loose.low, loose.high) == (0.0, 50.0)
    # proven within tolerance but a hair below zero: the interval, not the negative number
    hair = Bounded.of((1000.0, 999.0, True), (1000.5, 999.9, True))
    assert hair.value is None and hair.low == 0.0 and hair.high == pytest.approx(0.1)
    # the summary says which: the value, or the interval
    assert FuturesPlan._bounded("VSS", both) == [("VSS", 100.0, "USD")]
    assert FuturesPlan._bounded("VSS", loose) == [("VSS, at least", 0.0, "USD"),
                                                  ("VSS, at most", 50.0, "USD")]


def test_cvar_buys_protection(make):
    # minimising CVaR at alpha 0.5 (the worse half: the high future) commits 2 instances
    body = YEAR + workload("{us-east: 16000}") + FUTURES + \
        "  risk: {cvar_weight: 1.0, alpha: 0.5}\n"
    fp = planner.solve(make(body))
    assert fp.commitments()["instances"].tolist() == [2.0]
    assert fp.expected_cost == pytest.approx(840960)
    assert fp.cvar == pytest.approx(840960)


def test_one_future_is_the_deterministic_plan(make):
    body = YEAR + workload("{us-east: {start: 9000, growth: 0.2}, eu: 3000}", spot="0.2") + \
        "resilience: {survive: provider, keep: 0.3}\n"
    plain = planner.solve(make(body))
    fp = planner.solve(make(body + "uncertainty:\n  futures:\n    only: {probability: 1}\n"))
    assert fp.expected_cost == pytest.approx(plain.total_cost)
    assert fp.plans[0].purchases["instances"].sum() == plain.purchases["instances"].sum()
    assert fp.vss.value == pytest.approx(0, abs=1e-6)
    assert fp.evpi.value == pytest.approx(0, abs=1e-6)


def test_multipliers_per_workload_market_and_month(make):
    body = "horizon: {start: 2027-02, months: 2}\npurchase: {integer: false}\n" + \
        workload("{us-east: 8000, eu: 8000}") + """uncertainty:
  futures:
    a: {probability: 0.25, demand: {chat: {eu: [1.0, 0.5]}}}
    b: {probability: 0.75, demand: [2, 1]}
"""
    fp = planner.solve(make(body))
    served = {name: p.served.groupby(["market", "month"])["demand"].sum().to_dict()
              for name, p in zip(("a", "b"), fp.plans)}
    assert served["a"][("eu", "2027-03")] == pytest.approx(4000)
    assert served["a"][("us-east", "2027-03")] == pytest.approx(8000)
    assert served["b"][("eu", "2027-02")] == pytest.approx(16000)


def test_sampled_futures_are_reproducible(make):
    body = "horizon: {start: 2027-02, months: 3}\npurchase: {integer: false}\n" + \
        workload("{us-east: 8000}") + \
        "uncertainty:\n  sample: {count: 5, seed: 3, level_sd: 0.2, growth_sd: 0.05}\n"
    first = planner.load_scenario(make(body)).futures
    again = planner.load_scenario(make(body)).futures
    assert first.names == ("f1", "f2", "f3", "f4", "f5")
    assert first.probability.tolist() == [0.2] * 5
    key = ("chat", "us-east")
    assert (first.multiplier[key] == again.multiplier[key]).all()
    assert first.multiplier[key].shape == (5, 3)


@pytest.mark.parametrize("futures,message", [
    ("    a: {probability: 0.5}\n    b: {probability: 0.4}\n",
     "uncertainty.futures: expected probabilities that sum to 1, got 0.9"),
    ("    a: {probability: 1, demand: {chta: 2}}\n",
     "uncertainty.futures.a.demand.chta: unknown workload 'chta'; closest known: chat"),
    ("    a: {probability: 1, demand: {chat: {asia: 2}}}\n",
     "uncertainty.futures.a.demand.chat.asia: unknown market of chat 'asia'"),
    ("    a: {probability: 1, demand: -1}\n",
     "uncertainty.futures.a.demand: expected a number > 0 and <= 1e+06, got -1"),
])
def test_bad_futures_name_file_line_and_key(make, futures, message):
    path = make("horizon: {start: 2027-02, months: 1}\n" + workload("{us-east: 8000}") +
                "uncertainty:\n  futures:\n" + futures)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert f"{path}:" in result.stderr


def test_cli_json_and_files(make, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(make(YEAR + workload("{us-east: 16000}") +
                                                         FUTURES)), "--format", "json",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    for key in ("expected_cost", "cvar", "vss", "evpi", "futures"):
        assert key in answer
    assert [f["future"] for f in answer["futures"]] == ["low", "high"]
    assert (out / "futures.csv").is_file() and "<svg" in (out / "report.html").read_text()


def test_decomposition_agrees_with_the_extensive_form(make):
    body = YEAR.replace("terms: [12]", "terms: [12], integer: false") + \
        workload("{us-east: {start: 16000, growth: 0.05}, eu: 5000}") + \
        "uncertainty:\n  sample: {count: 12, seed: 1, level_sd: 0.3, growth_sd: 0.05}\n"
    scn = planner.load_scenario(make(body))
    extensive = planner.solve_futures(scn, decompose=False, values=False)
    decomposed = planner.solve_futures(scn, decompose=True, values=False)
    assert decomposed.solver["iterations"] > 1
    assert decomposed.expected_cost == pytest.approx(extensive.expected_cost, rel=1e-6)


def test_decomposition_keeps_commitments_within_limits_and_budget(make):
    # The master of the cuts knew no limit or budget: it proposed commitments past the aws
    # limit or the budget, no future had a plan under them, and the solve exited 1. Limit
    # and budget rows, projected on the commitments, now bound the master (and a future
    # with no plan hands the decision to the extensive form).
    body = "horizon: {start: 2027-01, months: 11}\n" + workload(
        "{us-east: {start: 5000, growth: 0.07}}", utilization="1.0", spot="0.2") + \
        "resilience: {survive: provider, keep: 0.3}\n" \
        "limits:\n  - {provider: aws, chips: 16}\nbudget: {monthly_max: 40000}\n" \
        "purchase: {terms: [12, 36], integer: false}\n" \
        "uncertainty:\n  futures:\n    low: {probability: 0.3, demand: 0.7}\n" \
        "    base: {probability: 0.4}\n    high: {probability: 0.3, demand: 1.4}\n"
    scn = planner.load_scenario(make(body))
    extensive = planner.solve_futures(scn, decompose=False, values=False)
    decomposed = planner.solve_futures(scn, decompose=True, values=False)
    assert decomposed.expected_cost == pytest.approx(extensive.expected_cost, rel=1e-6)


def test_the_time_limit_reaches_the_decomposition_and_workers_forget(make):
    from planner.futures import decompose
    from planner.model.solver import SolveOptions

    body = YEAR.replace("terms: [12]", "terms: [12], integer: false") + \
        workload("{us-east: {start: 16000, growth: 0.05}, eu: 5000}") + \
        "uncertainty:\n  sample: {count: 12, seed: 1, level_sd: 0.3, growth_sd: 0.05}\n"
    scn = planner.load_scenario(make(body))
    # without a limit the cuts take several iterations (above); with a limit far below one
    # iteration's time they stop after the first, and the plan says the limit stopped it
    stopped = planner.solve_futures(scn, SolveOptions(time_limit=1e-3), decompose=True,
                                    values=False)
    assert stopped.solver["iterations"] == 1
    assert stopped.status == "time_limit"
    assert not decompose._FUTURES  # every future's model let go when the cuts end
