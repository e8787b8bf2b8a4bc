"""Allure's result files, held in memory while a session runs and written in batches, by text paths.

allure-pytest writes every result and attachment at once (open, write, rename: more than the HTTP
exchange it documents costs on a loopback run), and a writer thread would compete with the runner for
two cores. So `HeldWrites` keeps the writes in memory, in order, and performs them later with the same
file names and atomic renames: results through the C JSON encoder, a result's pending steps built then
and their attachments written with it. What stands in for allure's file logger while a session runs (and
hands it back) is `reporting.allure.DeferredWriter`, built on this; nothing here imports allure.

Files are written by text paths (str), not pathlib: see `HeldWrites._write_file` (issue 14).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any

from harness.reporting.masking import Masker
from harness.reporting.step_attachments import Body, resolve

__all__ = ["HeldWrites", "PendingItem"]


class PendingItem:
    """An item noted during the run and built in allure's model only when its result is written."""

    __slots__ = ()

    def build(self, store: Callable[[Body, str], None]) -> Any:
        """The item in allure's model; each attachment's body goes to `store` with its file name."""
        raise NotImplementedError


class HeldWrites:
    """allure-pytest's file writes (results, containers, attachments), held in order and performed in batches.

    `flush()` performs them with allure's file logger (`_logger`) for what it writes itself, and otherwise with
    the same file names and atomic renames in its results folder (`_folder`).

    Once FLUSH_RESULTS results are held they are written at once, in a batch: a held result keeps its
    steps' whole exchanges alive, so holding all of them made the writer grow with the run (issue 14).
    """

    FLUSH_RESULTS = 200

    def __init__(self, masker: Masker | None = None) -> None:
        self.masker = masker or Masker(enabled=False)  # every result file passes through it (and stays writable)
        self._logger: Any = None
        self._folder = ""  # allure's results folder (the logger's), as text
        self._jobs: list[tuple[str, dict[str, Any]]] = []
        self._held_results = 0
        self.errors: list[BaseException] = []

    def flush(self) -> None:
        """Write everything held so far, in order."""
        jobs, self._jobs, self._held_results = self._jobs, [], 0
        for method, kwargs in jobs:
            try:
                if method in ("report_result", "report_container"):
                    self._write_item(next(iter(kwargs.values())))
                elif method == "report_attached_data":
                    self._write_attachment(**kwargs)
                else:
                    getattr(self._logger, method)(**kwargs)
            except Exception as exc:  # kept for the caller to report: a lost result must not go unnoticed
                self.errors.append(exc)

    def _write_item(self, item: Any) -> None:
        """allure's own format (attrs asdict without empty values), through the C JSON encoder.

        allure's logger streams with json.dump, which runs the pure-Python encoder;
        that is several times slower. Same file name pattern, same atomic rename.
        """
        data = _attrs_dict(item, self._store)
        name = item.file_pattern.format(prefix=uuid.uuid4())
        self._write_file(name, self.masker.text(json.dumps(data, ensure_ascii=False)).encode("utf-8"))

    def _write_attachment(self, body: str | bytes, file_name: str) -> None:
        """An attachment as allure's logger writes it (text in UTF-8, bytes as they are), under its own name."""
        self._write_file(file_name, body.encode("utf-8") if isinstance(body, str) else body)

    def _write_file(self, name: str, content: bytes) -> None:
        """`name` in allure's results folder, written beside it as `<name>.tmp` and renamed (atomic).

        Joined as text, not with pathlib: pathlib interns every part of a path it parses (Python 3.11), and each
        of a run's many unique file names (a dozen a scenario) briefly entered Python's table of interned strings,
        whose resizes every few thousand scenarios (a 4 MB table, allocated anew) grew the process (issue 14).
        """
        final = os.path.join(self._folder, name)
        with open(f"{final}.tmp", "wb") as out:
            out.write(content)
        os.replace(f"{final}.tmp", final)

    def _store(self, body: Body, file_name: str) -> None:
        """An attachment of a pending step, written as its result is (a lost attachment loses only itself)."""
        try:
            data = resolve(body)
            self._write_attachment(self.masker.text(data) if isinstance(data, str) else data, file_name)
        except Exception as exc:
            self.errors.append(exc)


def _attrs_dict(value: Any, store: Callable[[Body, str], None] | None = None) -> Any:
    """attrs.asdict(value, filter=keep truthy or False) for allure's model classes, without importing attrs.

    A PendingItem is built first (its attachments go to `store`).
    """
    if isinstance(value, PendingItem):
        if store is None:
            raise TypeError("a pending Allure step needs somewhere to store its attachments")
        value = value.build(store)
    fields = getattr(type(value), "__attrs_attrs__", None)
    if fields is not None:
        out = {}
        for field in fields:
            item = getattr(value, field.name)
            if item or item is False:
                out[field.name] = _attrs_dict(item, store)
        return out
    if isinstance(value, list | tuple):
        return [_attrs_dict(v, store) for v in value]
    if isinstance(value, dict):
        return {k: _attrs_dict(v, store) for k, v in value.items()}
    return value
