"""Object storage of the simulator: a global resourceVersion, a bounded event history and watch fan-out.

Stored objects are never mutated in place: every write stores a fresh dict, so readers can hand the
stored dict to JSON serialisation without copying.
"""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str]  # (group, plural)
Obj = dict[str, Any]


@dataclass
class Event:
    rv: int
    key: Key
    type: str  # ADDED | MODIFIED | DELETED
    obj: Obj
    old: Obj | None = None
    # serialised watch lines by (type, apiVersion), shared by every watcher that sees this event
    lines: dict[tuple[str, str], bytes] = field(default_factory=dict, repr=False, compare=False)


@dataclass(eq=False)
class Watcher:
    key: Key
    namespace: str | None
    match: Callable[[Obj], bool]
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)


def labels_of(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


class Store:
    def __init__(self, history: int = 50000) -> None:
        self.rv = 1
        self._objects: dict[Key, dict[str, dict[str, Obj]]] = {}  # key -> namespace -> name -> object
        self.history: deque[Event] = deque(maxlen=history)
        self._watchers: dict[Key, set[Watcher]] = {}
        self.listeners: list[Callable[[Event], None]] = []

    def next_rv(self) -> int:
        self.rv += 1
        return self.rv

    # ---- reads ----
    def get(self, key: Key, ns: str, name: str) -> Obj | None:
        return self._objects.get(key, {}).get(ns, {}).get(name)

    def items(self, key: Key, ns: str | None = None) -> Iterator[Obj]:
        bucket = self._objects.get(key, {})
        if ns is None:
            out: list[Obj] = []
            for objs in list(bucket.values()):
                out.extend(objs.values())
            return iter(out)
        return iter(list(bucket.get(ns, {}).values()))

    def keys(self) -> list[Key]:
        return list(self._objects)

    def count(self) -> int:
        return sum(len(objs) for b in self._objects.values() for objs in b.values())

    # ---- writes (the caller has already set metadata.resourceVersion to a fresh next_rv()) ----
    def put(self, key: Key, obj: Obj) -> Event:
        meta = obj["metadata"]
        bucket = self._objects.setdefault(key, {}).setdefault(meta.get("namespace") or "", {})
        old = bucket.get(meta["name"])
        bucket[meta["name"]] = obj
        ev = Event(int(meta["resourceVersion"]), key, "MODIFIED" if old else "ADDED", obj, old)
        self._emit(ev)
        return ev

    def remove(self, key: Key, obj: Obj) -> Event | None:
        meta = obj["metadata"]
        bucket = self._objects.get(key, {}).get(meta.get("namespace") or "", {})
        old = bucket.pop(meta["name"], None)
        if old is None:
            return None
        final = {**old, "metadata": {**old["metadata"], "resourceVersion": str(self.next_rv())}}
        ev = Event(self.rv, key, "DELETED", final, old)
        self._emit(ev)
        return ev

    def drop_key(self, key: Key) -> None:
        self._objects.pop(key, None)

    # ---- watch ----
    def _emit(self, ev: Event) -> None:
        self.history.append(ev)
        for w in list(self._watchers.get(ev.key, ())):
            translated = translate(ev, w)
            if translated:
                w.queue.put_nowait(translated)
        for cb in self.listeners:
            cb(ev)

    def subscribe(self, w: Watcher) -> None:
        self._watchers.setdefault(w.key, set()).add(w)

    def unsubscribe(self, w: Watcher) -> None:
        self._watchers.get(w.key, set()).discard(w)

    def watcher_count(self) -> int:
        return sum(len(s) for s in self._watchers.values())

    def close_watchers(self) -> None:
        """End every open watch stream (server shutdown)."""
        for ws in self._watchers.values():
            for w in ws:
                w.queue.put_nowait(None)

    def replay(self, w: Watcher, since: int) -> list[Event] | None:
        """Events after ``since`` for this watcher, or None when the history no longer reaches back that far."""
        if self.history and self.history[0].rv > since + 1 and len(self.history) == self.history.maxlen:
            return None
        out = []
        for ev in self.history:
            if ev.rv > since and ev.key == w.key:
                t = translate(ev, w)
                if t:
                    out.append(t)
        return out


def translate(ev: Event, w: Watcher) -> Event | None:
    """An event as a filtered watcher sees it: objects entering/leaving the selection become ADDED/DELETED."""
    ns = (ev.obj.get("metadata") or {}).get("namespace") or ""
    if w.namespace is not None and ns != w.namespace:
        return None
    new_ok = w.match(ev.obj)
    old_ok = ev.old is not None and w.match(ev.old)
    if ev.type == "DELETED":
        return ev if old_ok or new_ok else None
    if ev.type == "ADDED":
        return ev if new_ok else None
    if new_ok and old_ok:
        return ev
    if new_ok:
        return Event(ev.rv, ev.key, "ADDED", ev.obj, ev.old, ev.lines)
    if old_ok:
        return Event(ev.rv, ev.key, "DELETED", ev.obj, ev.old, ev.lines)
    return None
