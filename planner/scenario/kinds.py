"""Purchase kinds of spec section 4, in one place: what a limit's `kind` calls them, how long
a purchase is held, and the order chips of a holder are filled and reported in (signed
contracts, commitments longest first, on-demand, spot)."""

from __future__ import annotations

from dataclasses import dataclass

CONTRACT, ON_DEMAND, SPOT, COMMIT = "contract", "on-demand", "spot", "commit"
FAMILIES = (ON_DEMAND, SPOT, COMMIT, CONTRACT)  # as `limits[].kind` names them


@dataclass(frozen=True)
class Kind:
    name: str  # as plans write it: contract, commit-<months>, on-demand, spot
    family: str  # as `limits[].kind` names it: contract, commit, on-demand, spot
    term: int  # months one purchase is held and paid (a contract: its own, here 0)
    order: float  # fill and report order, smallest first


def kind_of(name: str) -> Kind:
    """The kind a plan's `kind` string names."""
    if name.startswith(COMMIT + "-"):
        term = int(name.removeprefix(COMMIT + "-"))
        return Kind(name, COMMIT, term, -term)
    order = {CONTRACT: -1e6, ON_DEMAND: 1e6, SPOT: 2e6}
    if name not in order:
        raise ValueError(f"unknown purchase kind {name!r}")
    return Kind(name, name, 0 if name == CONTRACT else 1, order[name])


def purchase_kinds(terms: tuple[int, ...]) -> list[Kind]:
    """The kinds a plan may buy with these commitment terms."""
    return [kind_of(ON_DEMAND), kind_of(SPOT), *(kind_of(f"{COMMIT}-{t}") for t in terms)]
