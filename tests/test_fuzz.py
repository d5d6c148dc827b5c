"""Fuzz: the bundled scenarios and a copy of the bundled catalog, mutated, through the CLI.

Each variant is one mutation of a bundled scenario (keys deleted or renamed, types changed,
huge, negative, NaN and infinite numbers, long strings, unicode, duplicated keys, deep
nesting, alias bombs, tags, merge keys, truncation, bad encodings) or of one table of a copy
of catalogs/default (cells, extra and missing cells, columns, rows, empty and truncated
files, encodings), run through `plan validate`, and a few that validate through `plan solve
--time-limit 5`. A run fails on a traceback, exit 1, a run over its time bound, a refusal
without `file:line` (unless the file has no line to point at and says why), a message of
more than one short line, a mutation that must be refused but is accepted, or one that must
be accepted but is refused.

The test runs a seeded, bounded sample. A large run prints the counts:

    python -m tests.test_fuzz --count 800 --seed 1
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import random
import re
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from typer.testing import CliRunner

from planner.catalog.read import OPTIONAL_TABLES, SCHEMA
from planner.cli import app
from planner.scenario.read import _Loader

OPTIONAL = {c.name for columns in SCHEMA.values() for c in columns if c.optional}

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
CATALOG = ROOT / "catalogs" / "default"
VALIDATE_SECONDS, SOLVE_SECONDS = 10.0, 90.0
MAX_MESSAGE = 600  # characters of an error line
# Refusals that have no line to point at say why.
NO_LINE = re.compile(r"is empty|not UTF-8 text|larger than|not found|cannot read")
BAD, GOOD, EITHER = "must be refused", "must be accepted", "either"
TABLES = ("schema", "markets", "workloads", "demand", "residency", "providers", "rtt_ms")


@dataclass
class Variant:
    what: str  # the mutation
    scenario: Path
    expect: str  # BAD, GOOD or EITHER


@dataclass
class Outcome:
    variant: Variant
    command: str
    exit_code: int | None
    seconds: float
    message: str
    problem: str | None = None


# --- scenario mutations -----------------------------------------------------------------------

def _leaves(data, path=()):
    """(path, value) of every scalar and of every mapping and list, depth first."""
    yield path, data
    items = data.items() if isinstance(data, dict) else \
        enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        yield from _leaves(value, (*path, key))


def _is_table(path) -> bool:
    """Mappings whose keys the user chooses (markets, workloads, demand, ...)."""
    return path in (("markets",), ("workloads",), ("providers",), ("network", "rtt_ms")) or \
        (len(path) == 3 and path[0] == "workloads" and path[2] in ("demand", "residency")) or \
        (len(path) == 3 and path[:2] == ("network", "rtt_ms"))


def _set(data, path, value):
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


NEVER_VALID = [math.nan, math.inf, -math.inf, 10**400, "x" * 5000]
ANY_VALUE = [None, True, "fast", "", -1, 0, 1e308, -1e308, 1e-300, "名前-ü", [], {}, [1, 2],
             {"a": 1}, "2027-13", "[/]", 7.5]


def structural(rng: random.Random, data: dict) -> tuple[str, str]:
    """Mutate the parsed scenario in place; (what, expectation)."""
    nodes = list(_leaves(data))
    kind = rng.choice(["delete", "value", "never", "type", "rename", "unicode", "long",
                       "shape", "huge", "negative", "zero"])
    mappings = [(p, v) for p, v in nodes if isinstance(v, dict) and v]
    numbers = [(p, v) for p, v in nodes if _number(v)]
    strings = [(p, v) for p, v in nodes if isinstance(v, str)]
    scalars = [(p, v) for p, v in nodes if p and not isinstance(v, (dict, list))]
    if kind == "delete":
        path, mapping = rng.choice(mappings)
        key = rng.choice(list(mapping))
        del mapping[key]
        return f"delete {(*path, key)}", EITHER
    if kind in ("value", "never"):
        path, _ = rng.choice(scalars)
        value = rng.choice(NEVER_VALID if kind == "never" else ANY_VALUE)
        _set(data, path, value)
        return f"{path} = {str(value)[:20]}", BAD if kind == "never" else EITHER
    if kind == "type":
        path, _ = rng.choice(numbers)
        value = rng.choice(["12abc", True, {"a": 1}, "1e5 tokens"])
        _set(data, path, value)
        return f"{path} = {value!r} (a number's type)", BAD
    if kind == "rename":
        path, mapping = rng.choice(mappings)
        key = rng.choice(list(mapping))
        mapping[f"{key}x"] = mapping.pop(key)
        return f"rename {(*path, key)}", EITHER if _is_table(path) else BAD
    if kind in ("unicode", "long"):
        path, _ = rng.choice(strings)
        _set(data, path, "Ünïcødé 名前 ✓" if kind == "unicode" else "y" * 5000)
        return f"{path} {kind}", EITHER if kind == "unicode" else BAD
    if kind == "shape":
        path, value = rng.choice([(p, v) for p, v in mappings if p])
        _set(data, path, list(value.values()))
        return f"{path} a list instead of a mapping", BAD
    path, value = rng.choice(numbers)
    value = {"huge": 1e300, "negative": -abs(value) - 1, "zero": 0}[kind]
    _set(data, path, value)
    return f"{path} = {value}", EITHER


def _bomb() -> str:
    """Billion laughs on one line: 9 levels of 9 aliases."""
    items = ["&l0 [" + ", ".join(["lol"] * 9) + "]"]
    items += [f"&l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "[" + ", ".join(items) + "]"


def textual(rng: random.Random, text: str) -> tuple[str, bytes | str, str]:
    """A mutation of the scenario text: (what, new text or bytes, expectation)."""
    lines = text.splitlines(keepends=True)
    keyed = [i for i, line in enumerate(lines) if re.match(r"\s*[\w-]+:", line)]
    valued = [i for i in keyed if re.match(r"\s*[\w-]+: *[^\s#]", lines[i])]
    kind = rng.choice(["duplicate", "deep", "bomb", "tag", "merge", "truncate", "latin1",
                       "utf16", "nul", "bytes", "empty", "control", "crlf", "bom",
                       "long-line", "big", "months", "growth", "recursive", "contract",
                       "residency", "term", "jurisdiction"])
    if kind == "duplicate":
        i = rng.choice(keyed)
        return "duplicate key line", "".join(lines[:i + 1] + [lines[i]] + lines[i + 1:]), BAD
    if kind == "deep":
        i = rng.choice(valued)
        key = lines[i].split(":")[0]
        depth = rng.choice([30, 1000, 5000])
        lines[i] = f"{key}: {'[' * depth}{']' * depth}\n"
        return f"nesting {depth} deep", "".join(lines), BAD
    if kind == "bomb":
        if rng.random() < 0.5:
            return "alias bomb as name", re.sub(r"(?m)^name:.*$", "name: " + _bomb(), text), BAD
        demand = r"(?m)(demand: \{[\w-]+: )[^,}]+|^(\s+[\w-]+: )\{start: [^}]*\}"
        return "alias bomb as demand", re.sub(
            demand, lambda m: (m[1] or m[2]) + _bomb(), text, count=1), BAD
    if kind == "tag":
        i = rng.choice(valued)
        lines[i] = re.sub(r":\s*", ": !mytag ", lines[i], count=1)
        return "custom tag", "".join(lines), BAD
    if kind == "merge":
        merged = re.sub(r"slo: \{ttft_ms: (\d+), tpot_ms: (\d+)\}",
                        r"slo: {<<: {ttft_ms: \1}, tpot_ms: \2}", text)
        return "merge key in slo", merged, GOOD
    if kind == "truncate":
        return "truncated", text[:rng.randrange(len(text))], EITHER
    if kind == "latin1":
        return "latin-1", ("# Zürich\n" + text).encode("latin-1"), BAD
    if kind == "utf16":
        return "utf-16", text.encode(rng.choice(["utf-16", "utf-16-le"])), BAD
    if kind in ("nul", "bytes", "control"):
        at = rng.randrange(len(text) + 1)
        junk = {"nul": "\0", "control": "\x07"}.get(kind)
        data = text.encode()
        data = data[:at] + (junk.encode() if junk else bytes([rng.randrange(0x80, 0xc0)])) + \
            data[at:]
        return kind, data, BAD
    if kind == "empty":
        return "empty", rng.choice(["", "\n\n", "# only a comment\n", "---\n"]), BAD
    if kind == "crlf":
        return "CRLF line ends", text.replace("\n", "\r\n").encode(), GOOD
    if kind == "bom":
        return "UTF-8 byte order mark", "\ufeff" + text, GOOD
    if kind == "long-line":
        return "a 100 kB comment", "#" + "c" * 100_000 + "\n" + text, GOOD
    if kind == "big":
        return "a 3 MB file", text + ("#" + "c" * 99 + "\n") * 30_000, BAD
    if kind == "months":
        return "100000 months", re.sub(r"months: \d+", "months: 100000", text, count=1), BAD
    if kind == "growth":
        grown = re.sub(r"growth: [\d.]+", "growth: 1000", text)
        if grown == text:
            grown = re.sub(r"(demand: \{[\w-]+: )\d+", r"\g<1>1e308", text, count=1)
        return "demand past 1e12 tokens/s", grown, BAD
    if kind == "contract":  # a second `contracts:` is a duplicate key: refused either way
        return "contract for an accelerator not offered there", text + (
            "contracts:\n  - {provider: aws, region: us-east-1, accelerator: tpu-v6e, chips: 8, "
            "start: 2027-01, months: 3, price_per_chip_hour: 3.0}\n"), BAD
    if kind == "residency":
        changed = re.sub(r"residency: \{([\w-]+): \[eu\]", r"residency: {\1: [ue]", text)
        return "residency in a jurisdiction no region has", changed, BAD if changed != text \
            else GOOD
    if kind == "term":
        changed = re.sub(r"terms: \[[\d, ]*\]", "terms: [7, 12]", text)
        return "a term nobody sells (a warning)", changed if changed != text else \
            text + "purchase: {terms: [7]}\n", GOOD
    if kind == "jurisdiction":
        return "a market jurisdiction no region has (a warning)", re.sub(
            r"jurisdiction: \w+\}", "jurisdiction: xx}", text, count=1), GOOD
    return "alias inside itself", text + "network: &n {rtt_ms: *n}\n", BAD


def scenario_variant(rng: random.Random, folder: Path, n: int) -> Variant:
    source = rng.choice(SCENARIOS)
    text = source.read_text()
    path = folder / f"s{n:04d}.yaml"
    if rng.random() < 0.55:
        data = yaml.load(text, Loader=_Loader)
        what, expect = structural(rng, data)
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    else:
        what, new, expect = textual(rng, text)
        path.write_bytes(new if isinstance(new, bytes) else new.encode())
    return Variant(f"{source.stem}: {what}", path, expect)


# --- catalog mutations ------------------------------------------------------------------------

NUMERIC = {"memory_gb", "lat", "lon", "chips", "on_demand_hourly", "spot_hourly",
           "term_months", "discount", "tokens_per_s_per_chip", "ttft_ms", "tpot_ms"}


def _csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _csv_cell(rng: random.Random, column: str, table: str) -> tuple[str, str]:
    """A new cell for `column`: (text, expectation)."""
    if column in NUMERIC:
        value = rng.choice(["inf", "-inf", "nan", "1e308", "abc", "", "0", "-1", "1e-300",
                            "99999999999999999999999", "7"])
        never = value in ("inf", "-inf", "nan", "1e308", "abc", "99999999999999999999999")
        empty_bad = value == "" and column != "spot_hourly"
        return value, BAD if never or empty_bad else EITHER
    if column in ("as_of", "family"):  # a date, or one of gpu, tpu, trainium, inferentia
        return rng.choice(["2025-13-01", "yesterday", "", "x" * 5000, "[/]"]), BAD
    value = rng.choice(["", "x" * 5000, "名前", "[/]", "a b", " padded "])
    if value == "" and (column == "accelerator" and table == "commitments"):
        return value, EITHER
    if column in ("source", "stack"):  # free text; a stack may be left empty
        return value, BAD if value == "" and column == "source" else GOOD
    return value, BAD if value in ("", "x" * 5000, "[/]") else EITHER


def catalog_variant(rng: random.Random, folder: Path, n: int) -> Variant:
    cat = folder / f"c{n:04d}"
    shutil.copytree(CATALOG, cat)
    file = rng.choice(sorted(cat.rglob("*.csv")))
    table = file.parent.name if file.parent != cat else file.stem
    text = file.read_text()
    lines = text.splitlines(keepends=True)
    header = lines[0].strip().split(",")
    rows = [i for i in range(1, len(lines)) if lines[i].strip()]
    kind = rng.choice(["cell", "cell", "cell", "extra", "missing", "empty", "header-only",
                       "drop-column", "duplicate-row", "delete-row", "truncate", "latin1",
                       "utf16", "nul", "quote", "blank-lines", "crlf", "new-column",
                       "remove-file"])
    expect = BAD
    data: str | bytes
    if kind == "cell":
        i, column = rng.choice(rows), rng.choice(header)
        cells = next(csv.reader([lines[i]]))
        value, expect = _csv_cell(rng, column, table)
        cells[header.index(column)] = value
        lines[i] = _csv_text([cells])
        kind = f"{column} = {value[:20]!r}"
        data = "".join(lines)
    elif kind in ("extra", "missing"):
        i = rng.choice(rows)
        row = lines[i].rstrip("\n")
        lines[i] = (row + ",stray" if kind == "extra" else row.rsplit(",", 1)[0]) + "\n"
        data = "".join(lines)
    elif kind == "empty":
        data = rng.choice(["", "\n", "\n\n  \n"])
    elif kind == "header-only":
        data, expect = lines[0], EITHER
    elif kind == "drop-column":
        column = rng.choice(range(len(header)))
        data = _csv_text([r[:column] + r[column + 1:] for r in csv.reader(lines) if r])
        kind = f"drop column {header[column]}"
        if header[column] in OPTIONAL:  # may be left out, unless two rows then coincide
            expect = EITHER
    elif kind == "duplicate-row":
        i = rng.choice(rows)
        data = "".join(lines + [lines[i]])
    elif kind == "delete-row":
        i = rng.choice(rows)
        data, expect = "".join(lines[:i] + lines[i + 1:]), EITHER
    elif kind == "truncate":
        data, expect = text[:rng.randrange(len(text))], EITHER
    elif kind == "latin1":
        data = text.replace(",", ",Zürich ", 1).encode("latin-1")
    elif kind == "utf16":
        data = text.encode("utf-16")
    elif kind == "nul":
        at = rng.randrange(len(text))
        data = text[:at] + "\0" + text[at:]
    elif kind == "quote":
        at = rng.randrange(len(text))
        data, expect = text[:at] + '"' + text[at:], EITHER
    elif kind == "blank-lines":
        data, expect = "\n".join(text.split("\n")[:3]) + "\n\n,,,\n" + text.split("\n", 3)[3], \
            GOOD
    elif kind == "crlf":
        data, expect = text.replace("\n", "\r\n").encode(), GOOD
    elif kind == "new-column":
        data = "".join(line.rstrip("\n") + (",note\n" if i == 0 else ",extra\n")
                       for i, line in enumerate(lines) if line.strip())
        expect = GOOD
    else:  # remove the file: a folder table keeps its other files
        file.unlink()
        data, expect = None, EITHER if file.parent != cat or table in OPTIONAL_TABLES else BAD
    if data is not None:
        file.write_bytes(data if isinstance(data, bytes) else data.encode())
    source = rng.choice(SCENARIOS)
    path = folder / f"c{n:04d}.yaml"
    path.write_text(re.sub(r"(?m)^catalog:.*$", f"catalog: {cat.name}", source.read_text()))
    return Variant(f"{file.relative_to(cat)}: {kind}", path, expect)


# --- running ----------------------------------------------------------------------------------

class Hang(BaseException):
    """Raised by the alarm: not an Exception, so the CLI cannot swallow it."""


def _alarm(signum, frame):
    raise Hang


def run(variant: Variant, command: list[str], bound: float) -> Outcome:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, bound)
    started = time.perf_counter()
    try:
        result = CliRunner().invoke(app, [*command, str(variant.scenario)])
        code, output = result.exit_code, result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            output += f"\nTraceback: {type(result.exception).__name__}: {result.exception}"
        stderr = result.stderr
    except Hang:
        code, output, stderr = None, "", ""
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    outcome = Outcome(variant, command[0], code, time.perf_counter() - started, stderr.strip())
    outcome.problem = judge(outcome, output, bound)
    return outcome


def judge(o: Outcome, output: str, bound: float) -> str | None:
    if o.exit_code is None or o.seconds > bound:
        return "hang"
    if "Traceback" in output:
        return "traceback"
    if o.exit_code not in ((0, 2) if o.command == "validate" else (0, 2, 3, 4)):
        return f"exit {o.exit_code}"
    if o.exit_code == 2:
        lines = [line for line in o.message.splitlines() if "warning:" not in line]
        if len(lines) != 1 or len(lines[0]) > MAX_MESSAGE:
            return "not one short line"
        where = re.match(r"error: (/[^:]+?)(:\d+)?: ", lines[0])
        if not where or not (where[2] or NO_LINE.search(lines[0])):
            return "no line"
        if o.variant.expect == GOOD:
            return "valid input refused"
    elif o.variant.expect == BAD:
        return "bad input accepted"
    elif o.variant.what.endswith("(a warning)") and ": warning: " not in o.message:
        return "warning missing"
    return None


def fuzz(folder: Path, count: int, seed: int, solves: int, solve_share: float = 0.1,
         log: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """`count` variants through validate, and up to `solves` that validate (a share of
    them) through solve."""
    rng = random.Random(seed)
    outcomes = []
    for n in range(count):
        make = catalog_variant if rng.random() < 0.4 else scenario_variant
        variant = make(rng, folder, n)
        outcome = run(variant, ["validate"], VALIDATE_SECONDS)
        outcomes.append(outcome)
        if log:
            log(outcome)
        if outcome.exit_code == 0 and solves and rng.random() < solve_share:
            solves -= 1
            outcomes.append(run(variant, ["solve", "--time-limit", "5"], SOLVE_SECONDS))
            if log:
                log(outcomes[-1])
    return outcomes


def summary(outcomes: list[Outcome]) -> str:
    codes = Counter((o.command, o.exit_code) for o in outcomes)
    problems = Counter(o.problem for o in outcomes if o.problem)
    expect = Counter((o.variant.expect, o.exit_code) for o in outcomes if o.command == "validate")
    lines = [f"{len(outcomes)} runs, longest {max(o.seconds for o in outcomes):.1f} s"]
    lines += [f"  {command} exit {code}: {n}" for (command, code), n in sorted(
        codes.items(), key=lambda kv: (kv[0][0], -1 if kv[0][1] is None else kv[0][1]))]
    lines += [f"  {what}, validate exit {code}: {n}" for (what, code), n in sorted(
        expect.items(), key=lambda kv: (kv[0][0], -1 if kv[0][1] is None else kv[0][1]))]
    for name in ("traceback", "exit 1", "hang", "no line", "not one short line",
                 "bad input accepted", "valid input refused", "warning missing"):
        lines.append(f"  {name}: {problems.pop(name, 0)}")
    lines += [f"  {name}: {n}" for name, n in problems.items()]
    for o in outcomes:
        if o.problem:
            lines.append(f"PROBLEM {o.problem}: {o.command} {o.variant.scenario.name} "
                         f"({o.variant.what}): {o.message[:300]}")
    return "\n".join(lines)


def test_fuzz(tmp_path):
    outcomes = fuzz(tmp_path, count=400, seed=14, solves=3)
    assert sum(o.command == "solve" for o in outcomes) == 3
    assert not any(o.problem for o in outcomes), summary(outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=800)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--solves", type=int, default=20)
    parser.add_argument("--solve-share", type=float, default=0.1,
                        help="of the variants that validate, the share also solved")
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        outcomes = fuzz(folder, args.count, args.seed, args.solves, args.solve_share,
                        log=lambda o: print(f"{o.command} {o.variant.scenario.name} "
                                            f"{o.exit_code} {o.seconds:.2f}s "
                                            f"{o.problem or ''}", flush=True))
    print(summary(outcomes))


if __name__ == "__main__":
    main()
