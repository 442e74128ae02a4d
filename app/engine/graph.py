"""The order in which formulas that refer to each other must be evaluated.

Sort the graph once, and report a cycle by name (mis_builder retries until values settle; we do not).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import fail


def dependency_order(formulas: Mapping[str, object]) -> list[str]:
    """The keys of ``formulas`` so that each comes after every key it refers to. A value is a Formula (its
    ``names`` that are keys are its dependencies) or simply an iterable of names. Ties keep the mapping's
    order. Raises FormulaError CYCLE whose ``members`` are every key on a cycle."""
    keys = list(formulas)
    deps = {key: [d for d in dict.fromkeys(_names(formulas[key])) if d in formulas] for key in keys}
    dependents: dict[str, list[str]] = {key: [] for key in keys}
    waiting = {key: len(deps[key]) for key in keys}
    for key in keys:
        for dep in deps[key]:
            dependents[dep].append(key)
    order: list[str] = []
    ready = [key for key in keys if waiting[key] == 0]
    while ready:
        key = ready.pop(0)
        order.append(key)
        for dependent in dependents[key]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                ready.append(dependent)
    if len(order) < len(keys):
        cycles = cyclic_components({k: deps[k] for k in keys if waiting[k] > 0})
        on_cycle = {key for cycle in cycles for key in cycle}
        members = [key for key in keys if key in on_cycle]
        text = " | ".join(" → ".join([*c, c[0]]) for c in cycles)
        raise fail("cycle", None, members=members, members_text=text)
    return order


def _names(formula) -> Iterable[str]:
    names = getattr(formula, "names", formula)
    return sorted(names) if isinstance(names, set | frozenset) else names


def cyclic_components(deps: Mapping[str, list[str]]) -> list[list[str]]:
    """Strongly connected components that contain a cycle (Tarjan, iterative), each in cycle order when
    the component is one simple cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in deps:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = [d for d in deps[node] if d in deps]
            if i < len(children):
                work.append((node, i + 1))
                child = children[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in deps[node]:
                    components.append(_cycle_order(component, deps))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def _cycle_order(component: list[str], deps: Mapping[str, list[str]]) -> list[str]:
    """Walk the component along its edges from its first member, for a readable a → b → c → a."""
    members = set(component)
    rank = {key: i for i, key in enumerate(deps)}
    start = min(component, key=rank.__getitem__)
    path, seen, node = [start], {start}, start
    while True:
        node = next((d for d in deps[node] if d in members and d not in seen), None)
        if node is None:
            break
        path.append(node)
        seen.add(node)
    if len(path) == len(component):
        return path
    return [start, *sorted(members - {start}, key=rank.__getitem__)]
