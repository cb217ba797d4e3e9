"""Checks resources against Helsenorge's profiles as their StructureDefinitions state them (tests/data/helsenorge/):
each differential element's cardinality, fixed and pattern values, required binding, reference targets and the
invariants simple enough to read (a length limit, inv-4), with no rule copied by hand."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "helsenorge"
INV_4 = "code > '' implies (system > '' )"  # inv-4: a code in a Coding needs its system
_LENGTH = re.compile(r"^\$this\.length\(\) <= (\d+)$")


@cache
def _resources() -> dict[str, dict[str, Any]]:
    found = {}
    for path in DATA.glob("*.json"):
        resource = json.loads(path.read_text(encoding="utf-8"))
        found[resource["url"]] = resource
    return found


def profile(name: str) -> dict[str, Any]:
    return _resources()[f"http://helsenorge.no/fhir/StructureDefinition/{name}"]


def value_set(url: str) -> set[tuple[str, str]] | None:
    """The (system, code) pairs of a vendored ValueSet, or None when it is not vendored (the rule is then unchecked)."""
    vs = _resources().get(url)
    if vs is None:
        return None
    codes: set[tuple[str, str]] = set()
    for include in vs["compose"]["include"]:
        if "concept" in include:
            codes |= {(include["system"], c["code"]) for c in include["concept"]}
        elif (system := _resources().get(include["system"])) is not None:
            codes |= {(include["system"], c["code"]) for c in system["concept"]}
        else:
            return None  # a whole external code system (Volven 8445 …): not vendored, not checked
    return codes


def _children(values: list[Any], name: str) -> list[Any]:
    found: list[Any] = []
    for value in values:
        if isinstance(value, dict) and name in value:
            item = value[name]
            found += item if isinstance(item, list) else [item]
    return found


def _at(resource: dict[str, Any], segments: list[str]) -> list[Any]:
    values: list[Any] = [resource]
    for name in segments:
        values = _children(values, name)
    return values


def _type_name(url: str) -> str:
    last = url.rsplit("/", 1)[-1]
    return {"hn-basis-schedule": "Schedule"}.get(last, last.removeprefix("no-basis-"))


def check(resource: dict[str, Any], definition: dict[str, Any]) -> dict[str, str]:
    """Element id (with `#constraint` for an invariant) → "meets", "differs: why" or "unchecked: why"."""
    verdicts: dict[str, str] = {}
    for element in definition["differential"]["element"]:
        id_ = element["id"]
        segments = id_.split(".")[1:]
        if any(s == "value[x]" for s in segments):
            verdicts[id_] = "unchecked: inside an extension"
            continue
        sliced = any(":" in s for s in segments)
        plain = [s.split(":")[0] for s in segments]
        if not plain:
            continue
        parents = _at(resource, plain[:-1])
        values = _children(parents, plain[-1])
        problems: list[str] = []
        if sliced and plain[-1] == "extension" and ":" in segments[-1]:
            # An extension slice is known by its url: the extensions of other urls are not it.
            urls = {p for t in element.get("type", []) for p in t.get("profile", [])}
            values = [v for v in values if isinstance(v, dict) and v.get("url") in urls] if urls else values
            if not urls and values:
                verdicts[id_] = "unchecked: an extension slice without its url"
                continue
        if sliced:
            if values:
                verdicts[id_] = "unchecked: a slice of an element that is present"
                continue
            if element.get("min", 0) > 0 and parents:
                problems.append(f"min {element['min']}, none present")
            verdicts[id_] = f"differs: {'; '.join(problems)}" if problems else "meets"
            continue
        if "min" in element and element["min"] > 0:
            short = [p for p in parents if len(_children([p], plain[-1])) < element["min"]]
            if short:
                problems.append(f"min {element['min']}, {len(short)} without")
        if element.get("max") not in (None, "*"):
            most = int(element["max"])
            if any(len(_children([p], plain[-1])) > most for p in parents):
                problems.append(f"max {most}, more present")
        for key, fixed in element.items():
            if key.startswith(("fixed", "pattern")) and any(v != fixed for v in values):
                problems.append(f"{key} {fixed!r}, got {sorted({json.dumps(v) for v in values if v != fixed})}")
        binding = element.get("binding", {})
        if binding.get("strength") == "required" and values:
            allowed = value_set(binding["valueSet"])
            if allowed is None:
                verdicts[id_] = f"unchecked: {binding['valueSet']} is not vendored"
                continue
            outside = [v for v in values if not _in(v, allowed)]
            if outside:
                problems.append(f"required binding {binding['valueSet'].rsplit('/', 1)[-1]}, got {_codes(outside)}")
        targets = {_type_name(p) for t in element.get("type", []) for p in t.get("targetProfile", [])}
        if targets:
            wrong = sorted({v["reference"].split("/")[0] for v in values if isinstance(v, dict) and "reference" in v} - targets)
            if wrong:
                problems.append(f"only {sorted(targets)}, got {wrong}")
        verdicts[id_] = f"differs: {'; '.join(problems)}" if problems else "meets"
        for constraint in element.get("constraint", []):
            verdicts[f"{id_}#{constraint['key']}"] = _invariant(constraint, values)
    return verdicts


def _invariant(constraint: dict[str, Any], values: list[Any]) -> str:
    expression = constraint.get("expression", "")
    if (limit := _LENGTH.match(expression)) is not None:
        longer = [v for v in values if isinstance(v, str) and len(v) > int(limit[1])]
        return f"differs: {len(longer)} longer than {limit[1]}" if longer else "meets"
    if expression == INV_4:
        codings = [c for v in values for c in (v.get("coding", [v]) if isinstance(v, dict) else [])]
        bad = [c for c in codings if c.get("code") and not c.get("system")]
        return "differs: a code without its system" if bad else "meets"
    return "unchecked: FHIRPath not evaluated here"


def _in(value: Any, allowed: set[tuple[str, str]]) -> bool:
    if isinstance(value, str):  # a code: the value set's codes of any system
        return value in {code for _, code in allowed}
    codings = value.get("coding", [value]) if isinstance(value, dict) else []
    return any((c.get("system"), c.get("code")) in allowed for c in codings)


def _codes(values: list[Any]) -> list[str]:
    return sorted({v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)[:80] for v in values})


def differing(resources: list[dict[str, Any]], definition: dict[str, Any]) -> dict[str, str]:
    """Every rule at least one of `resources` breaks (the first reason), and nothing for the rules all meet."""
    found: dict[str, str] = {}
    for resource in resources:
        for id_, verdict in check(resource, definition).items():
            if verdict.startswith("differs") and id_ not in found:
                found[id_] = verdict
    return found


def unchecked(resources: list[dict[str, Any]], definition: dict[str, Any]) -> set[str]:
    return {i for r in resources for i, v in check(r, definition).items() if v.startswith("unchecked")}
