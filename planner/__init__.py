"""Capacity planner for AI inference: catalog -> scenario -> model -> solve -> report."""

from planner.catalog.read import Catalog, load_catalog
from planner.errors import PlanError
from planner.futures.twostage import FuturesPlan, solve_futures
from planner.model.plan import Plan
from planner.run.pipeline import solve, solve_and_explain
from planner.scenario.read import Scenario, load_scenario

__all__ = ["Catalog", "FuturesPlan", "Plan", "PlanError", "Scenario", "load_catalog",
           "load_scenario", "solve", "solve_and_explain", "solve_futures"]
