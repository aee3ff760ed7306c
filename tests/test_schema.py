"""Tests of the schema helper shared by sweep specs and design files (simulation.schema)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation.schema import check_keys, is_integer, is_number, origin_of, parse_toml, read_text, show


class FileError(ValueError):
    """Stands for SpecError or DesignError."""


def test_numbers_are_told_from_bools_and_floats_from_whole_numbers():
    assert is_integer(3) and is_integer(np.int64(3))
    assert not is_integer(3.0) and not is_integer(True)
    assert is_number(0.5) and is_number(np.float32(0.5)) and is_number(7)
    assert not is_number(False) and not is_number("1")


def test_unknown_keys_get_a_hint_and_missing_keys_are_listed():
    with pytest.raises(FileError, match=r"^\[design\] has unknown key 'n_patient' \(did you mean 'n_patients'\?\)"):
        check_keys("[design]", {"n_patient": 1}, ("n_patients", "n_sessions"), FileError)
    check_keys("[design]", {"n_patients": 1}, ("n_patients", "n_sessions"), FileError)  # missing is fine
    with pytest.raises(FileError, match=r"^\[design\] is missing the key n_sessions; it needs n_patients, n_sessions"):
        check_keys("[design]", {"n_patients": 1}, ("n_patients", "n_sessions"), FileError, required=True)


def test_toml_errors_are_one_sentence_of_the_callers_error_class():
    assert parse_toml("a = 1", FileError) == {"a": 1}
    with pytest.raises(FileError, match=r"^invalid TOML: .*\.$"):
        parse_toml("a = = 1", FileError)


def test_messages_start_with_the_origin(tmp_path: Path):
    with pytest.raises(FileError, match=r"^my.toml: bad\.$"), origin_of("my.toml", FileError):
        raise FileError("bad.")
    with pytest.raises(FileError, match=r"not UTF-8 text \(bad byte at offset 0\)"):
        (tmp_path / "x.toml").write_bytes(b"\xff")
        read_text(tmp_path / "x.toml", "spec", FileError)
    assert read_text(_written(tmp_path, "\ufeffa = 1"), "spec", FileError) == "a = 1"


def test_show_keeps_renderings_short():
    assert show(True) == "true" and show({"a": 1}, table="a table") == "a table"
    assert len(show("x" * 500)) <= 45


def _written(folder: Path, text: str) -> Path:
    path = folder / "y.toml"
    path.write_text(text, encoding="utf-8")
    return path
