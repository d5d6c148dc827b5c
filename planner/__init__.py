"""Capacity planner for AI inference: catalog -> scenario -> model -> solve -> report."""

from planner.catalog import Catalog, load_catalog
from planner.errors import PlanError
from planner.pipeline import solve, solve_and_explain
from planner.report import Plan
from planner.scenario import Scenario, load_scenario
from planner.twostage import FuturesPlan, solve_futures

__all__ = ["Catalog", "FuturesPlan", "Plan", "PlanError", "Scenario", "load_catalog",
           "load_scenario", "solve", "solve_and_explain", "solve_futures"]
