"""Fault injection (simulator-only): make chosen requests fail, slow down or lose their connection.

A rule matches on a regular expression over the request path and/or on a verb (the Kubernetes verb such
as ``get``/``list``/``watch``/``create``/``update``/``patch``/``delete``, or the HTTP method). It answers
with an HTTP status (429, 500, 503, 403, ...) as a ``Status`` body, adds a delay, or drops the connection;
``raw`` answers that text instead (status default 200, ``content_type`` default application/json): an API
server answering garbage.
``times`` limits how often it fires (``null`` = always); ``skip`` lets that many matching requests through
first (a fault in the middle of a flow). ``verb`` may be a list (any of them). ``retry_after`` adds a
``Retry-After`` header (a 429 always has one, default 1).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
           429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}


@dataclass
class FaultRule:
    path: str | None = None
    verb: str | list[str] | None = None
    status: int | None = None
    delay: float = 0.0
    drop: bool = False
    times: int | None = None
    message: str | None = None
    retry_after: int | None = None
    raw: str | None = None
    content_type: str = "application/json"
    skip: int = 0
    hits: int = 0
    passed: int = 0
    _re: re.Pattern[str] | None = field(default=None, repr=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FaultRule:
        known = {k: d[k] for k in ("path", "verb", "status", "delay", "drop", "times", "message", "retry_after",
                                     "raw", "content_type", "skip") if k in d}
        rule = cls(**known)
        rule._re = re.compile(rule.path) if rule.path else None
        return rule

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "verb": self.verb, "status": self.status, "delay": self.delay, "drop": self.drop,
                "times": self.times, "message": self.message, "retry_after": self.retry_after, "raw": self.raw,
                "content_type": self.content_type, "skip": self.skip, "passed": self.passed, "hits": self.hits}

    def matches(self, verb: str, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        verbs = [self.verb] if isinstance(self.verb, str) else (self.verb or [])
        if verbs and not {v.lower() for v in verbs} & {verb.lower(), method.lower()}:
            return False
        if self._re and not self._re.search(path):
            return False
        if self.passed < self.skip:
            self.passed += 1
            return False
        return True

    def body(self) -> dict[str, Any]:
        code = self.status or 500
        reason = REASONS.get(code, "InternalError")
        msg = self.message or {
            403: "forbidden: the simulator was told to refuse this request",
            429: "the server has received too many requests and has asked us to try again later",
            503: "the server is currently unable to handle the request",
        }.get(code, "an error on the server (\"simulated fault\") has prevented the request from succeeding")
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": msg, "reason": reason, "code": code}
        if code == 429:
            body["details"] = {"retryAfterSeconds": self.retry_after or 1}
        return body


class Faults:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def set(self, rules: list[dict[str, Any]], replace: bool = False) -> None:
        if replace:
            self.rules = []
        self.rules.extend(FaultRule.from_dict(r) for r in rules)

    def clear(self) -> None:
        self.rules = []

    def match(self, verb: str, method: str, path: str) -> FaultRule | None:
        for r in self.rules:
            if r.matches(verb, method, path):
                r.hits += 1
                return r
        return None
