"""Data roots checked when the workflow is read: null spellings, missing folders, wrong layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from igcl.data.columns import CHEXPERT_CSVS, MIMIC_CHEXPERT_CSV, MIMIC_METADATA_CSV, MIMIC_SPLIT_CSV
from igcl.data.roots import check_data_roots, normalise_root


def _mimic(root: Path) -> Path:
    (root / "files").mkdir(parents=True)
    for name in (MIMIC_METADATA_CSV, MIMIC_SPLIT_CSV, MIMIC_CHEXPERT_CSV):
        (root / name).write_bytes(b"")
    return root


def _chexpert(root: Path) -> Path:
    root.mkdir(parents=True)
    for name in CHEXPERT_CSVS:
        (root / name).write_text("Path\n")
    return root


@pytest.mark.parametrize("value", [None, "null", "NULL", "None", "~", "", "  null "])
def test_null_spellings_mean_the_phantom(value):
    assert normalise_root(value) is None


def test_all_null_is_the_phantom():
    assert check_data_roots({"mimic_root": "null", "mimic_reports_root": None, "chexpert_root": "~"}) == {
        "mimic_root": None, "mimic_reports_root": None, "chexpert_root": None}


def test_real_roots_pass_and_are_returned(tmp_path):
    mimic, chexpert = _mimic(tmp_path / "mimic"), _chexpert(tmp_path / "chexpert")
    roots = check_data_roots({"mimic_root": str(mimic), "mimic_reports_root": "null", "chexpert_root": str(chexpert)})
    assert roots == {"mimic_root": str(mimic), "mimic_reports_root": None, "chexpert_root": str(chexpert)}


def test_a_missing_root_names_the_key_and_the_path(tmp_path):
    with pytest.raises(ValueError, match=r"data\.chexpert_root: .*/nowhere is not a CheXpert.*does not exist"):
        check_data_roots({"chexpert_root": str(tmp_path / "nowhere")})


def test_a_root_of_the_wrong_data_set_lists_what_is_missing(tmp_path):
    chexpert = _chexpert(tmp_path / "chexpert")
    with pytest.raises(ValueError) as err:
        check_data_roots({"mimic_root": str(chexpert)})
    message = str(err.value)
    assert message.startswith("data.mimic_root: ") and MIMIC_METADATA_CSV in message and "files/" in message


def test_a_missing_reports_root_is_an_error(tmp_path):
    mimic = _mimic(tmp_path / "mimic")
    with pytest.raises(ValueError, match=r"data\.mimic_reports_root: /does/not/exist .*does not exist"):
        check_data_roots({"mimic_root": str(mimic), "mimic_reports_root": "/does/not/exist"})


def test_reports_root_without_images_root_is_an_error(tmp_path):
    reports = tmp_path / "reports"
    (reports / "files").mkdir(parents=True)
    with pytest.raises(ValueError, match="mimic_root is null"):
        check_data_roots({"mimic_reports_root": str(reports)})


def test_a_file_is_not_a_root(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(ValueError, match="it is not a folder"):
        check_data_roots({"chexpert_root": str(tmp_path / "f")})


def test_unknown_keys_and_non_paths_are_errors():
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['mimic'\]"):
        check_data_roots({"mimic": "x"})
    with pytest.raises(ValueError, match=r"data\.chexpert_root: expected a folder path or null, got 3"):
        check_data_roots({"chexpert_root": 3})
