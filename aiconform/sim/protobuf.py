"""Decoding of the Kubernetes protobuf wire format for the kinds Helm's release storage writes.

Helm's typed clientset sends Secrets (and ConfigMaps) as ``application/vnd.kubernetes.protobuf``: a
``k8s\\0`` magic, then a ``runtime.Unknown`` envelope (1 typeMeta, 2 raw) around the object message.
"""
from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from typing import Any

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    pass


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """Yield (field number, wire type, value) for one message."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            val, pos = _varint(buf, pos)
        elif wt == 1:
            val, pos = buf[pos:pos + 8], pos + 8
        elif wt == 2:
            ln, pos = _varint(buf, pos)
            val, pos = buf[pos:pos + ln], pos + ln
        elif wt == 5:
            val, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wt}")
        yield num, wt, val


def _str(b: bytes) -> str:
    return b.decode("utf-8")


def _map_entry(buf: bytes) -> tuple[str, bytes]:
    key, val = "", b""
    for n, _, v in fields(buf):
        if n == 1:
            key = _str(v)
        elif n == 2:
            val = v
    return key, val


def _time(buf: bytes) -> str:
    secs = 0
    for n, _, v in fields(buf):
        if n == 1:
            secs = v
    return dt.datetime.fromtimestamp(secs, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner_ref(buf: bytes) -> dict[str, Any]:
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    out: dict[str, Any] = {}
    for n, _, v in fields(buf):
        if n in names:
            out[names[n]] = _str(v)
        elif n == 6:
            out["controller"] = bool(v)
        elif n == 7:
            out["blockOwnerDeletion"] = bool(v)
    return out


def object_meta(buf: bytes) -> dict[str, Any]:
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    meta: dict[str, Any] = {}
    for n, _, v in fields(buf):
        if n in strings:
            if v:
                meta[strings[n]] = _str(v)
        elif n == 7:
            meta["generation"] = v
        elif n == 8:
            meta["creationTimestamp"] = _time(v)
        elif n in (11, 12):
            k, val = _map_entry(v)
            meta.setdefault("labels" if n == 11 else "annotations", {})[k] = _str(val)
        elif n == 13:
            meta.setdefault("ownerReferences", []).append(_owner_ref(v))
        elif n == 14:
            meta.setdefault("finalizers", []).append(_str(v))
    return meta


def _secret(buf: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {}}
    for n, _, v in fields(buf):
        if n == 1:
            obj["metadata"] = object_meta(v)
        elif n == 2:
            k, val = _map_entry(v)
            obj.setdefault("data", {})[k] = base64.b64encode(val).decode()
        elif n == 3:
            obj["type"] = _str(v)
        elif n == 4:
            k, val = _map_entry(v)
            obj.setdefault("stringData", {})[k] = _str(val)
        elif n == 5:
            obj["immutable"] = bool(v)
    return obj


def _configmap(buf: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {}}
    for n, _, v in fields(buf):
        if n == 1:
            obj["metadata"] = object_meta(v)
        elif n == 2:
            k, val = _map_entry(v)
            obj.setdefault("data", {})[k] = _str(val)
        elif n == 3:
            k, val = _map_entry(v)
            obj.setdefault("binaryData", {})[k] = base64.b64encode(val).decode()
        elif n == 4:
            obj["immutable"] = bool(v)
    return obj


def _delete_options(buf: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for n, _, v in fields(buf):
        if n == 1:
            obj["gracePeriodSeconds"] = v
        elif n == 2:
            pre = {({1: "uid", 2: "resourceVersion"}[pn]): _str(pv) for pn, _, pv in fields(v) if pn in (1, 2)}
            obj["preconditions"] = pre
        elif n == 3:
            obj["orphanDependents"] = bool(v)
        elif n == 4:
            obj["propagationPolicy"] = _str(v)
        elif n == 5:
            obj.setdefault("dryRun", []).append(_str(v))
    return obj


DECODERS = {"Secret": _secret, "ConfigMap": _configmap, "DeleteOptions": _delete_options}


def decode(body: bytes) -> dict[str, Any]:
    """Decode a protobuf request body into the JSON form of the object."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing k8s protobuf magic")
    api_version = kind = ""
    raw = b""
    for n, _, v in fields(body[len(MAGIC):]):
        if n == 1:
            for tn, _, tv in fields(v):
                if tn == 1:
                    api_version = _str(tv)
                elif tn == 2:
                    kind = _str(tv)
        elif n == 2:
            raw = v
    decoder = DECODERS.get(kind)
    if decoder is None:
        raise ProtobufError(f"the simulator decodes protobuf only for {sorted(DECODERS)}, not {kind or 'unknown kind'}")
    obj = decoder(raw)
    return {"apiVersion": api_version, "kind": kind, **obj}
