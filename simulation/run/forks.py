"""What-if forks: a response imposed on the therapist at one segment, checked and parsed.

A fork replays a course on the same random numbers (every draw is keyed by
seed, patient, session, segment and stream) with the therapist's response at
one segment replaced: a 3RS strategy, letting the marker pass, noticing it
calmly, or reacting with hostility (``taxonomy.RESPONSES``). Before the fork
every number is the same; after it, only what the mechanism changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.model.parameters import ParameterError
from simulation.model.taxonomy import RESPONSE_ALIASES, RESPONSES, RUPTURE_TYPES, response_code
from simulation.run.engine import OVERRIDE_COLUMNS, no_overrides, no_policy


@dataclass(frozen=True)
class Fork:
    """One imposed response.

    Attributes:
        patient_id: The patient.
        session: Session number (1-based).
        segment: Segment of the session (0-based, as in the events table).
        response: Response code (``taxonomy.RESPONSES``; 0 = the rules' own, with a continuation).
        continuation: Which future follows the fork: 0 = the original's random numbers; k > 0 =
            the same past with other draws after the fork segment (``session.session_keys``),
            the same future k for every response, so responses compare paired.
    """

    patient_id: int
    session: int
    segment: int
    response: int
    continuation: int = 0


def response_names() -> str:
    """The response names a user may type, for messages."""
    return ", ".join([*RESPONSES, *RESPONSE_ALIASES])


def parse_response(name: str) -> int:
    """A response code from its name.

    Raises:
        ParameterError: For an unknown name (the message lists the allowed ones).
    """
    try:
        return response_code(name)
    except KeyError:
        raise ParameterError(f"response must be one of {response_names()} (got {name!r}).") from None


def parse_fork(text: str, patient_id: int = 0) -> Fork:
    """``"SESSION.SEGMENT:RESPONSE"`` (e.g. ``"3.7:invite"``) as a ``Fork`` of ``patient_id``.

    Raises:
        ParameterError: If the text does not have that form.
    """
    where, _, name = text.partition(":")
    session, _, segment = where.partition(".")
    if not (name and session.strip().isdigit() and segment.strip().isdigit()):
        raise ParameterError(f"fork must look like SESSION.SEGMENT:RESPONSE, e.g. 3.7:invite (got {text!r}).")
    return Fork(patient_id, int(session), int(segment), parse_response(name))


def override_table(forks: Iterable[Fork | Sequence[int]] | None, n_sessions: int, n_segments: int) -> np.ndarray:
    """The forks as the engines' overrides table (``engine.OVERRIDE_COLUMNS``), checked.

    A fork is a ``Fork`` or a tuple of its four or five values (the continuation defaults to 0).

    Raises:
        ParameterError: For a session, segment, response or continuation out of range, two forks
            of one session, or two continuations of one patient.
    """
    rows = [tuple(f.__dict__.values()) if isinstance(f, Fork) else tuple(f) for f in forks or ()]
    if not rows:
        return no_overrides()
    if any(len(row) not in (len(OVERRIDE_COLUMNS) - 1, len(OVERRIDE_COLUMNS)) for row in rows):
        raise ParameterError(
            f"each override must have {len(OVERRIDE_COLUMNS) - 1} or {len(OVERRIDE_COLUMNS)} values: "
            f"{', '.join(OVERRIDE_COLUMNS)} (optional)."
        )
    table = np.asarray([(*row, 0)[: len(OVERRIDE_COLUMNS)] for row in rows], dtype=np.int64)
    codes = list(RESPONSES.values())
    rules_in_a_future = (table[:, 3] == 0) & (table[:, 4] > 0)  # the rules' own response, in another future
    checks = (
        (table[:, 0] >= 0, "a non-negative patient id"),
        ((table[:, 1] >= 1) & (table[:, 1] <= n_sessions), f"a session from 1 to {n_sessions}"),
        ((table[:, 2] >= 0) & (table[:, 2] < n_segments), f"a segment from 0 to {n_segments - 1}"),
        (np.isin(table[:, 3], codes) | rules_in_a_future,
         f"a response code from {min(codes)} to {max(codes)} (0, the rules' own, only with a continuation)"),
        (table[:, 4] >= 0, "a whole number of 0 or more (0 = the original's random numbers)"),
    )  # fmt: skip
    for column, (ok, allowed) in enumerate(checks):
        if not ok.all():
            bad = int(table[~ok, column][0])
            raise ParameterError(f"override {OVERRIDE_COLUMNS[column]} must be {allowed} (got {bad}).")
    if len({(int(r[0]), int(r[1])) for r in table}) != len(table):
        raise ParameterError("overrides allow one imposed response per patient and session.")
    continued = [int(r[0]) for r in table if r[4] > 0]
    if len(set(continued)) != len(continued):
        raise ParameterError("overrides allow one continuation per patient (a future follows one fork).")
    return table


def policy_table(policy: Mapping[Any, str | int] | None) -> np.ndarray:
    """A therapist policy as the engines' table: the response by rupture type and salience (0 = the rules).

    Keys are a rupture type (``"withdrawal"``, ``"confrontation"``: every salience) or a
    ``(type, salience)`` pair (salience 1-5, which wins over the type); values are response
    names or codes (``taxonomy.RESPONSES``).

    Raises:
        ParameterError: For a key or response the model does not know.
    """
    table = no_policy()
    if policy is None:
        return table
    if not isinstance(policy, Mapping):
        raise ParameterError("policy must be a mapping from a rupture type or (type, salience) to a response.")
    for key, value in sorted(policy.items(), key=lambda item: not isinstance(item[0], str)):  # pairs win
        kind, saliences = _policy_key(key)
        table[kind, saliences] = _policy_response(value)
    return table


_TYPES = {name: code for code, name in enumerate(RUPTURE_TYPES) if code > 0}


def _policy_key(key: Any) -> tuple[int, slice | int]:
    """The rupture type code and the salience(s) a policy key names."""
    if isinstance(key, str) and key in _TYPES:
        return _TYPES[key], slice(1, None)
    pair = isinstance(key, tuple) and len(key) == 2
    if pair and key[0] in _TYPES and isinstance(key[1], int) and not isinstance(key[1], bool) and 1 <= key[1] <= 5:
        return _TYPES[key[0]], key[1]
    raise ParameterError(
        f"policy keys must be a rupture type ({', '.join(_TYPES)}) or a (type, salience 1-5) pair (got {key!r})."
    )


def _policy_response(value: Any) -> int:
    """A policy's response code from its name or code."""
    if isinstance(value, str):
        return parse_response(value)
    if isinstance(value, int) and not isinstance(value, bool) and value in RESPONSES.values():
        return value
    raise ParameterError(f"policy responses must be one of {response_names()} (got {value!r}).")
