"""The CheXpert test split: test_labels.csv (CheXlocalize) and groundtruth.csv (rajpurkarlab) on the hand-made tree
of ingest_fixtures, plus every bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from ingest_fixtures import CHEXPERT_ROOT_NAME, edit_csv, leftovers, write_chexpert_tree, write_csv, write_jpeg

from igcl.data.chexpert import read_chexpert
from igcl.data.columns import CHEXPERT_GROUNDTRUTH_COLUMNS, CHEXPERT_TEST_COLUMNS
from igcl.data.manifest import IngestConfig, IngestError, write_manifest
from igcl.data.roots import check_data_roots
from igcl.labels import CHEXPERT_OBSERVATIONS

T1 = "test/patient64741/study1/view1_frontal.jpg"
T2F = "test/patient64742/study1/view1_frontal.jpg"
T2L = "test/patient64742/study1/view2_lateral.jpg"
T3 = "test/patient64743/study1/view1_frontal.jpg"
POSITIVE = {"Cardiomegaly", "Edema"}


def labels_row(written: dict[str, str] | None = None, one: str = "1.0", zero: str = "0.0") -> list[str]:
    written = written or {}
    return [written.get(name, one if name in POSITIVE else zero) for name in CHEXPERT_OBSERVATIONS]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The train/valid tree plus test_labels.csv: a Path with and one without the root's name, 1/0 and 1.0/0.0."""
    root = write_chexpert_tree(tmp_path / CHEXPERT_ROOT_NAME)
    rows = [[T1] + labels_row(),
            [f"{CHEXPERT_ROOT_NAME}/{T2F}"] + labels_row(one="1", zero="0"),
            [T2L] + labels_row({"Edema": "0"}, one="1", zero="0")]
    write_csv(root / "test_labels.csv", CHEXPERT_TEST_COLUMNS, rows)
    for i, path in enumerate((T1, T2F, T2L)):
        write_jpeg(root / path, seed=100 + i)
    return root


def split_test_rows(table) -> list[tuple]:
    return [(r["study_id"], r["patient_id"], r["image_id"], r["view"]) for r in table.to_pylist()
            if r["split"] == "test"]


def ingest_error(root: Path, tmp_path: Path, *fragments: str, config: IngestConfig = IngestConfig()) -> str:
    out_dir = tmp_path / "out"
    with pytest.raises(IngestError) as err:
        build = read_chexpert(root, config)
        write_manifest(build, out_dir / "eval.parquet", config=config, seconds=0.0)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert leftovers(out_dir) == []
    return message


def test_test_labels_give_split_test_views_from_the_file_name_and_binary_labels(root: Path) -> None:
    build = read_chexpert(root)  # the default ingest views keep FRONTAL, the view of every test frontal
    assert split_test_rows(build.table) == [("patient64741/study1", "patient64741", T1, "FRONTAL"),
                                      ("patient64742/study1", "patient64742", T2F, "FRONTAL"),
                                      ("patient64742/study1", "patient64742", T2L, "LATERAL")]
    assert build.counts["split_test"] == 3 and build.counts["split_valid"] == 1 and build.counts["csv_rows"] == 9
    labels = {r["image_id"]: r["labels"] for r in build.table.to_pylist()}
    expected = {name: 1.0 if name in POSITIVE else 0.0 for name in CHEXPERT_OBSERVATIONS}
    assert labels[T1] == labels[T2F] == expected
    assert labels[T2L] == expected | {"Edema": 0.0}
    rows = {r["image_id"]: r for r in build.table.to_pylist()}
    assert rows[T2F]["image_path"] == f"{root}/{T2F}" and rows[T2F]["report_path"] is None


def test_without_a_test_file_only_train_and_valid(tmp_path: Path) -> None:
    root = write_chexpert_tree(tmp_path / CHEXPERT_ROOT_NAME)
    build = read_chexpert(root)
    assert set(build.table["split"].to_pylist()) == {"train", "valid"}
    assert "split_test" not in build.counts


@pytest.mark.parametrize("value, shown", [("-1.0", "'-1.0'"), ("", "blank"), ("0.5", "'0.5'"), ("yes", "'yes'")])
def test_a_label_other_than_1_or_0_names_file_line_and_column(root: Path, tmp_path: Path, value: str,
                                                              shown: str) -> None:
    def corrupt(header, rows):
        rows[1][header.index("Pleural Effusion")] = value
        return header, rows

    edit_csv(root / "test_labels.csv", corrupt)
    ingest_error(root, tmp_path, f"{root / 'test_labels.csv'} line 3: column 'Pleural Effusion' has label value "
                                 f"{shown}; expected 1 or 0")


def test_absent_test_image_is_an_error_naming_file_and_line(root: Path, tmp_path: Path) -> None:
    (root / T2L).unlink()
    ingest_error(root, tmp_path, "image absent", f"{root}/{T2L}", f"{root / 'test_labels.csv'} line 4")


def test_absent_test_image_is_skipped_and_counted(root: Path, caplog: pytest.LogCaptureFixture) -> None:
    (root / T1).unlink()
    with caplog.at_level(logging.WARNING):
        build = read_chexpert(root, IngestConfig(on_missing="skip"))
    assert [r[2] for r in split_test_rows(build.table)] == [T2F, T2L]
    assert build.counts["skipped_missing_image"] == 1 and build.counts["split_test"] == 2
    assert f"{root / 'test_labels.csv'} line 2" in caplog.text


@pytest.mark.parametrize("path, message", [
    ("test/patient64741/view1_frontal.jpg", "is not [<root>/]<split>/<patient>/<study>/<image>"),
    ("a/b/test/patient64741/study1/view1_frontal.jpg", "is not [<root>/]<split>/<patient>/<study>/<image>"),
    ("test/patient64741/study1/view1.jpg", "names no view: expected a file named view<N>_frontal.jpg"),
])
def test_malformed_test_path(root: Path, tmp_path: Path, path: str, message: str) -> None:
    def corrupt(header, rows):
        rows[0][0] = path
        return header, rows

    edit_csv(root / "test_labels.csv", corrupt)
    ingest_error(root, tmp_path, f"{root / 'test_labels.csv'} line 2: Path {path!r} {message}")


def test_the_same_image_with_and_without_the_root_name_is_listed_twice(root: Path, tmp_path: Path) -> None:
    edit_csv(root / "test_labels.csv", lambda header, rows: (header, rows + [[T2F] + rows[1][1:]]))
    ingest_error(root, tmp_path, f"image '{T2F}' is listed twice: {root / 'test_labels.csv'} line 3 and "
                                 f"{root / 'test_labels.csv'} line 5")


def test_test_frontals_are_dropped_only_when_views_leave_out_frontal(root: Path) -> None:
    build = read_chexpert(root, IngestConfig(views=("PA", "AP", "LATERAL")))
    assert [r[3] for r in split_test_rows(build.table)] == ["LATERAL"]
    assert build.counts["skipped_view"] == 3  # the two test frontals and train.csv's RL image


# --- groundtruth.csv: one row per study, images found on disk ------------------------------------------------------


@pytest.fixture
def gt_root(tmp_path: Path) -> Path:
    root = write_chexpert_tree(tmp_path / CHEXPERT_ROOT_NAME)
    rows = [["test/patient64741/study1"] + labels_row(one="1", zero="0"),
            [f"{CHEXPERT_ROOT_NAME}/test/patient64742/study1/"] + labels_row({"Cardiomegaly": "0"}, one="1",
                                                                              zero="0")]
    # rajpurkarlab's file lists the observations alphabetically: columns are read by name
    header = ["Study"] + sorted(CHEXPERT_GROUNDTRUTH_COLUMNS[1:])
    order = [CHEXPERT_GROUNDTRUTH_COLUMNS.index(c) for c in header]
    write_csv(root / "groundtruth.csv", header, [[row[k] for k in order] for row in rows])
    for i, path in enumerate((T1, T2F, T2L)):
        write_jpeg(root / path, seed=100 + i)
    (root / "test/patient64742/study1/notes.txt").write_text("not an image")
    return root


def test_groundtruth_studies_expand_to_their_images_with_the_study_labels(gt_root: Path) -> None:
    build = read_chexpert(gt_root)
    assert split_test_rows(build.table) == [("patient64741/study1", "patient64741", T1, "FRONTAL"),
                                      ("patient64742/study1", "patient64742", T2F, "FRONTAL"),
                                      ("patient64742/study1", "patient64742", T2L, "LATERAL")]
    labels = {r["image_id"]: r["labels"] for r in build.table.to_pylist()}
    expected = {name: 1.0 if name in POSITIVE else 0.0 for name in CHEXPERT_OBSERVATIONS}
    assert labels[T1] == expected
    assert labels[T2F] == labels[T2L] == expected | {"Cardiomegaly": 0.0}
    assert build.counts["skipped_missing_test_study"] == 0


def test_groundtruth_study_without_images_follows_on_missing(gt_root: Path, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    (gt_root / T1).unlink()
    ingest_error(gt_root, tmp_path, "test study image absent",
                 f"{gt_root}/test/patient64741/study1/view<N>_frontal.jpg or view<N>_lateral.jpg",
                 f"{gt_root / 'groundtruth.csv'} line 2")
    with caplog.at_level(logging.WARNING):
        build = read_chexpert(gt_root, IngestConfig(on_missing="skip"))
    assert [r[2] for r in split_test_rows(build.table)] == [T2F, T2L]
    assert build.counts["skipped_missing_test_study"] == 1


def test_groundtruth_bad_label_names_file_line_and_column(gt_root: Path, tmp_path: Path) -> None:
    def corrupt(header, rows):
        rows[1][header.index("Atelectasis")] = "-1"
        return header, rows

    edit_csv(gt_root / "groundtruth.csv", corrupt)
    ingest_error(gt_root, tmp_path, f"{gt_root / 'groundtruth.csv'} line 3: column 'Atelectasis' has label value "
                                    f"'-1'; expected 1 or 0")


def test_test_labels_win_over_groundtruth(root: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_csv(root / "groundtruth.csv", CHEXPERT_GROUNDTRUTH_COLUMNS, [["test/patient64743/study1"] + labels_row()])
    write_jpeg(root / T3, seed=7)
    with caplog.at_level(logging.WARNING):
        build = read_chexpert(root)
    assert T3 not in build.table["image_id"].to_pylist() and build.counts["split_test"] == 3
    assert "reading the test split from test_labels.csv" in caplog.text


# --- data roots: the test files are optional ----------------------------------------------------------------------


def test_roots_accept_a_root_with_or_without_test_labels(root: Path, tmp_path: Path) -> None:
    assert check_data_roots({"chexpert_root": str(root)})["chexpert_root"] == str(root)
    bare = write_chexpert_tree(tmp_path / "bare")
    assert check_data_roots({"chexpert_root": str(bare)})["chexpert_root"] == str(bare)
    (bare / "groundtruth.csv").mkdir()
    with pytest.raises(ValueError, match=r"data\.chexpert_root: .*/bare is not a CheXpert-v1.0 or CheXpert-v1.0-small "
                                         r"root: groundtruth.csv is not a file"):
        check_data_roots({"chexpert_root": str(bare)})


# --- downstream: the phantom's test split through ingest and the images stage ------------------------------------


def test_phantom_test_split_reaches_the_image_shard(tmp_path: Path) -> None:
    import numpy as np

    from igcl.data.imageshards.reader import ImageShard
    from igcl.data.imageshards import ImagesConfig, build_image_shard
    from igcl.data.phantom import PhantomConfig, generate_phantom

    tree = tmp_path / CHEXPERT_ROOT_NAME
    generate_phantom(PhantomConfig(eval_train_studies=6, eval_valid_studies=3, eval_test_studies=5, image_size=32),
                     None, tree)
    config = IngestConfig()
    build = read_chexpert(tree, config)
    assert build.counts["split_test"] == 5 and build.counts["skipped_view"] == 0
    write_manifest(build, tmp_path / "eval.parquet", config=config, seconds=0.0)
    build_image_shard(tmp_path / "eval.parquet", tmp_path / "eval.npy", tmp_path / "eval.index.parquet",
                      ImagesConfig(size=16))  # the default images views: PA, AP, FRONTAL
    shard = ImageShard(tmp_path / "eval.npy", tmp_path / "eval.index.parquet")
    rows = shard.rows("test")
    assert len(rows) == 5 and set(shard.index["view"].to_numpy(zero_copy_only=False)[rows]) == {"FRONTAL"}
    assert list(shard.patient_ids(rows)) == [f"patient{64741 + i}" for i in range(5)]
    assert set(np.unique(shard.labels(rows))) <= {0.0, 1.0}
    assert len(shard.rows("valid")) == 3 and len(shard.rows("train")) >= 6
