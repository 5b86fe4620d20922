"""Write the phantom MIMIC-CXR-JPG 2.0.0 and CheXpert-v1.0-small trees, in the official layouts.

MIMIC-CXR-JPG tree (``mimic_out``)::

    mimic-cxr-2.0.0-metadata.csv.gz   one row per image: dicom_id, subject_id, study_id, ViewPosition, ...
    mimic-cxr-2.0.0-split.csv.gz      one row per image: dicom_id, study_id, subject_id, split (train/validate/test)
    mimic-cxr-2.0.0-chexpert.csv.gz   one row per study: subject_id, study_id, 14 labels (1.0 / 0.0 / -1.0 / blank)
    files/p10/p10000032/s50414267/02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.jpg
    files/p10/p10000032/s50414267/02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.masks.npz
    files/p10/p10000032/s50414267.txt (the report)

CheXpert tree (``chexpert_out``)::

    train.csv, valid.csv   Path, Sex, Age, Frontal/Lateral, AP/PA, 14 labels
    train/patient00001/study1/view1_frontal.jpg (+ view2_lateral.jpg, + <stem>.masks.npz)
    valid/patient00301/study1/view1_frontal.jpg
    test_labels.csv        Path, 14 labels (CheXlocalize's layout of the CheXpert test set; eval_test_studies > 0)
    test/patient64741/study1/view1_frontal.jpg (+ view1_frontal.masks.npz)
    gt_segmentations_test.json   the test masks in CheXlocalize's layout (see igcl.data.phantom.localize_masks)
    phantom_radiologists.csv   reader, pathology, fpr, tpr (simulated readers; the phantom's own, see below)

train.csv / valid.csv ``Path`` is relative to the tree's parent and starts with the tree's own directory name
(``CheXpert-v1.0-small`` in the pipeline), exactly as the real CSVs; test_labels.csv's is relative to the tree,
as CheXlocalize's. train.csv labels are what a labeler reads from the (unwritten) report, with -1.0 and blanks;
valid.csv and test_labels.csv labels are the image truth, 1.0 / 0.0 only, as CheXpert's radiologist consensus
sets.

The test split (``eval_test_studies`` studies, 500 like the real one; 0 writes none) has one patient per study,
numbered from patient64741 as the real test set (or after the last train/valid patient, should those reach it),
each with a single study1 and a single frontal image, view1_frontal.jpg. Frontal only: the evaluation and
CheXlocalize's localization read frontal images only, so a lateral would cost rendering and be dropped; and
test_labels.csv has no AP/PA column, so ingest calls each image FRONTAL. Its studies come from their own dataset
stream (``CHEXPERT_TEST``), so adding or resizing the test split leaves train.csv, valid.csv and their images
byte-identical. ``phantom_radiologists.csv`` (written with the test split; not part of any real layout) holds three
simulated readers' operating points on it, one row per reader and competition pathology: see
:mod:`igcl.data.phantom.readers`.

Lesion masks: ``<image stem>.masks.npz`` beside every image (possibly with no arrays), a NumPy ``.npz`` archive
with one boolean array of the image's shape [size, size] per drawn finding, keyed ``Observation|location``
(e.g. ``Consolidation|left lower lobe``, ``Pleural Effusion|bilateral``, ``Support Devices|PICC``); load with
``np.load(path)``. Hedged findings that the image does not show have no mask. With the test split,
``gt_segmentations_test.json`` holds the test images' masks of the competition pathologies, merged over locations,
as CheXlocalize publishes its test masks (COCO RLE JSON keyed ``patient64741_study1_view1_frontal``).

Determinism: every study comes from its own generator (see :mod:`igcl.data.phantom.study`), rows are written in
study order, gzip headers carry mtime 0 and no file name, npz members a fixed timestamp; so the same config gives
byte-identical trees for any number of worker processes.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import math
import multiprocessing
import os
import time
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from igcl.data.columns import (CHEXPERT_COLUMNS, CHEXPERT_CSVS, CHEXPERT_TEST_COLUMNS, CHEXPERT_TEST_CSV,
                               CHEXPERT_TEST_SPLIT, MIMIC_CHEXPERT_COLUMNS, MIMIC_CHEXPERT_CSV, MIMIC_METADATA_COLUMNS,
                               MIMIC_METADATA_CSV, MIMIC_SPLIT_COLUMNS, MIMIC_SPLIT_CSV, PHANTOM_READERS_CSV)
from igcl.data.phantom.config import PhantomConfig
from igcl.data.phantom.localize_masks import write_test_segmentations
from igcl.data.phantom.readers import write_readers_csv
from igcl.data.phantom.render import render
from igcl.data.phantom.study import (CHEXPERT_TEST, CHEXPERT_TRAIN, CHEXPERT_VALID, MIMIC, Study, SubjectTable,
                                     sample_study, sample_subject, subject_table)
from igcl.labels import COMPETITION_PATHOLOGIES
from igcl.config import to_dict
from igcl.io import Sidecar, atomic_dir, read_sidecar, write_sidecar
from igcl.workers import die_with_parent

log = logging.getLogger(__name__)

WINDOW = 1024  # studies in flight at once: bounds memory whatever the data set size
TEST_FIRST_PATIENT = 64741  # the real CheXpert test set's first patient (valid: 64541-64740, test: 64741-65240)
VIEW_CODE = {"PA": "postero-anterior", "AP": "antero-posterior", "LATERAL": "lateral"}
PROCEDURE = {("PA", True): "CHEST (PA AND LAT)", ("PA", False): "CHEST (PA)", ("AP", True): "CHEST (PORTABLE AP)",
             ("AP", False): "CHEST (PORTABLE AP)"}


def format_label(value: float) -> str:
    """CheXpert CSV cell: 1.0 / 0.0 / -1.0, blank for not mentioned (NaN)."""
    return "" if math.isnan(value) else f"{value:.1f}"


def write_masks(path: Path, masks: Mapping[str, np.ndarray]) -> None:
    """Write ``masks`` as an ``.npz`` (deflated) whose members have a fixed timestamp, so bytes are reproducible
    (``np.savez_compressed`` stamps the current time)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(masks):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(masks[key], dtype=bool), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


class CsvWriter:
    """A CSV written row by row, gzip-compressed (with a reproducible header: mtime 0, no file name) or plain."""

    def __init__(self, path: Path, header: tuple[str, ...], *, compress: bool) -> None:
        self._raw = open(path, "wb")
        stream = gzip.GzipFile(fileobj=self._raw, mode="wb", mtime=0, filename="") if compress else self._raw
        self._text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        self._writer = csv.writer(self._text, lineterminator="\n")
        self._writer.writerow(header)
        self.rows = 0

    def write(self, row: list) -> None:
        self._writer.writerow(row)
        self.rows += 1

    def close(self) -> None:
        self._text.close()  # closes the gzip stream too, which writes its trailer
        if not self._raw.closed:
            self._raw.close()


@dataclass
class StudyRows:
    """What one worker hands back for the CSVs (the images and report are already on disk)."""

    dataset: int
    metadata: list[list] = field(default_factory=list)
    split: list[list] = field(default_factory=list)
    chexpert: list[list] = field(default_factory=list)
    images: int = 0


@dataclass(frozen=True)
class _Job:
    cfg: PhantomConfig
    mimic_root: Path | None  # None: this run writes no MIMIC tree
    chexpert_root: Path | None
    chexpert_prefix: str
    tables: dict[int, SubjectTable]
    test_first_patient: int = TEST_FIRST_PATIENT


_JOB: _Job | None = None


def _init_worker(job: _Job) -> None:
    global _JOB
    die_with_parent()  # a killed stage must not leave workers blocked on the task queue
    _JOB = job


def _save_images(study: Study, directory: Path, stems: list[str], quality: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for image, stem in zip(study.images, stems):
        pixels, masks = render(image.spec)
        Image.fromarray(pixels, "L").save(directory / f"{stem}.jpg", format="JPEG", quality=quality)
        write_masks(directory / f"{stem}.masks.npz", masks)


def _mimic_study(job: _Job, index: int) -> StudyRows:
    table = job.tables[MIMIC]
    j = int(table.subject_of[index])
    subject = sample_subject(job.cfg, MIMIC, j)
    study = sample_study(job.cfg, MIMIC, index, subject, int(table.order[index]))
    subject_id, study_id = int(table.subject_ids[j]), int(table.study_ids[index])
    subject_dir = job.mimic_root / "files" / f"p{str(subject_id)[:2]}" / f"p{subject_id}"
    _save_images(study, subject_dir / f"s{study_id}", [im.dicom_id for im in study.images], job.cfg.jpeg_quality)
    (subject_dir / f"s{study_id}.txt").write_text(study.report, encoding="utf-8")
    rows = StudyRows(MIMIC, images=len(study.images))
    lateral = len(study.images) > 1
    procedure = PROCEDURE[(study.projection, lateral)]
    size = job.cfg.image_size
    for image in study.images:
        rows.metadata.append([image.dicom_id, subject_id, study_id, procedure, image.projection, size, size,
                              study.study_date, study.study_time, procedure, VIEW_CODE[image.projection],
                              study.orientation])
        rows.split.append([image.dicom_id, study_id, subject_id, subject.split])
    rows.chexpert.append([subject_id, study_id] + [format_label(study.labels[c]) for c in MIMIC_CHEXPERT_COLUMNS[2:]])
    return rows


def _chexpert_study(job: _Job, dataset: int, index: int) -> StudyRows:
    table = job.tables[dataset]
    j = int(table.subject_of[index])
    order = int(table.order[index])
    subject = sample_subject(job.cfg, dataset, j)
    study = sample_study(job.cfg, dataset, index, subject, order)
    split = "train" if dataset == CHEXPERT_TRAIN else "valid"
    patient = j + 1 + (job.tables[CHEXPERT_TRAIN].n_subjects if dataset == CHEXPERT_VALID else 0)
    relative = f"{split}/patient{patient:05d}/study{order + 1}"
    stems = [f"view{k}_{'lateral' if im.projection == 'LATERAL' else 'frontal'}"
             for k, im in enumerate(study.images, 1)]
    _save_images(study, job.chexpert_root / relative, stems, job.cfg.jpeg_quality)
    labels = study.labels if dataset == CHEXPERT_TRAIN else study.truth
    rows = StudyRows(dataset, images=len(study.images))
    for image, stem in zip(study.images, stems):
        frontal = image.projection != "LATERAL"
        rows.chexpert.append([f"{job.chexpert_prefix}/{relative}/{stem}.jpg",
                              "Female" if subject.sex == "F" else "Male", subject.age + order,
                              "Frontal" if frontal else "Lateral", image.projection if frontal else ""]
                             + [format_label(labels[c]) for c in CHEXPERT_COLUMNS[5:]])
    return rows


def _chexpert_test_study(job: _Job, index: int) -> StudyRows:
    """Test study ``index``: its own patient, study1, one frontal image; labels the image truth."""
    study = sample_study(job.cfg, CHEXPERT_TEST, index, sample_subject(job.cfg, CHEXPERT_TEST, index), 0)
    relative = f"{CHEXPERT_TEST_SPLIT}/patient{job.test_first_patient + index:05d}/study1"
    _save_images(study, job.chexpert_root / relative, ["view1_frontal"], job.cfg.jpeg_quality)
    rows = StudyRows(CHEXPERT_TEST, images=len(study.images))
    rows.chexpert.append([f"{relative}/view1_frontal.jpg"]
                         + [format_label(study.truth[c]) for c in CHEXPERT_TEST_COLUMNS[1:]])
    return rows


def _run(task: tuple[int, int]) -> StudyRows:
    assert _JOB is not None, "worker not initialised"
    dataset, index = task
    if dataset == MIMIC:
        return _mimic_study(_JOB, index)
    if dataset == CHEXPERT_TEST:
        return _chexpert_test_study(_JOB, index)
    return _chexpert_study(_JOB, dataset, index)


def _results(tasks: list[tuple[int, int]], threads: int) -> Iterator[StudyRows]:
    """Rows of every task in task order, computed ``threads`` processes wide, ``WINDOW`` studies at a time."""
    if threads <= 1:
        for task in tasks:
            yield _run(task)
        return
    assert _JOB is not None
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(threads, initializer=_init_worker, initargs=(_JOB,)) as pool:
        for start in range(0, len(tasks), WINDOW):
            yield from pool.imap(_run, tasks[start:start + WINDOW], chunksize=8)


def generate_phantom(cfg: PhantomConfig, mimic_out: str | os.PathLike[str] | None,
                     chexpert_out: str | os.PathLike[str] | None, threads: int = 1) -> dict[str, int]:
    """Write the MIMIC-CXR-JPG tree, the CheXpert tree, or both (each atomically: complete or absent); ``None``
    skips a tree. Each study's randomness depends only on the seed, its data set and its index, so a tree is the
    same byte for byte whether it is written alone or with the other. Returns row and image counts per tree."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if mimic_out is None and chexpert_out is None:
        raise ValueError("generate_phantom: give mimic_out, chexpert_out or both")
    sizes = {MIMIC: cfg.pretrain_studies if mimic_out is not None else 0,
             CHEXPERT_TRAIN: cfg.eval_train_studies if chexpert_out is not None else 0,
             CHEXPERT_VALID: cfg.eval_valid_studies if chexpert_out is not None else 0,
             CHEXPERT_TEST: cfg.eval_test_studies if chexpert_out is not None else 0}
    # test patients have one study each: no subject table
    tables = {ds: subject_table(cfg, ds, n) for ds, n in sizes.items() if n and ds != CHEXPERT_TEST}
    eval_patients = sum(tables[ds].n_subjects for ds in (CHEXPERT_TRAIN, CHEXPERT_VALID) if ds in tables)
    global _JOB
    with ExitStack() as stack:
        mimic_tmp = stack.enter_context(atomic_dir(Path(mimic_out))) if mimic_out is not None else None
        chexpert_tmp = stack.enter_context(atomic_dir(Path(chexpert_out))) if chexpert_out is not None else None
        _JOB = _Job(cfg, mimic_tmp, chexpert_tmp, Path(chexpert_out).name if chexpert_out is not None else "",
                    tables, max(TEST_FIRST_PATIENT, eval_patients + 1))
        writers: dict = {}
        if mimic_tmp is not None:
            writers |= {
                "metadata": CsvWriter(mimic_tmp / MIMIC_METADATA_CSV, MIMIC_METADATA_COLUMNS, compress=True),
                "split": CsvWriter(mimic_tmp / MIMIC_SPLIT_CSV, MIMIC_SPLIT_COLUMNS, compress=True),
                "mimic_chexpert": CsvWriter(mimic_tmp / MIMIC_CHEXPERT_CSV, MIMIC_CHEXPERT_COLUMNS, compress=True),
            }
        if chexpert_tmp is not None:
            writers |= {
                CHEXPERT_TRAIN: CsvWriter(chexpert_tmp / CHEXPERT_CSVS[0], CHEXPERT_COLUMNS, compress=False),
                CHEXPERT_VALID: CsvWriter(chexpert_tmp / CHEXPERT_CSVS[1], CHEXPERT_COLUMNS, compress=False),
            }
            if sizes[CHEXPERT_TEST]:
                writers[CHEXPERT_TEST] = CsvWriter(chexpert_tmp / CHEXPERT_TEST_CSV, CHEXPERT_TEST_COLUMNS,
                                                   compress=False)
        tasks = [(ds, i) for ds, n in sizes.items() for i in range(n)]
        images = dict.fromkeys(sizes, 0)
        # the test labels as written, competition pathologies only: what the simulated readers are scored against
        test_truth: list[list[float]] = []
        truth_columns = [CHEXPERT_TEST_COLUMNS.index(name) for name in COMPETITION_PATHOLOGIES]
        try:
            log.info("phantom: %d MIMIC-like, %d + %d + %d CheXpert-like (train, valid, test) studies at %d px, "
                     "%d process(es)", *sizes.values(), cfg.image_size, threads)
            for rows in tqdm(_results(tasks, threads), total=len(tasks), desc="phantom studies", unit="study",
                             mininterval=2.0):
                images[rows.dataset] += rows.images
                if rows.dataset == MIMIC:
                    for row in rows.metadata:
                        writers["metadata"].write(row)
                    for row in rows.split:
                        writers["split"].write(row)
                    for row in rows.chexpert:
                        writers["mimic_chexpert"].write(row)
                else:
                    for row in rows.chexpert:
                        writers[rows.dataset].write(row)
                    if rows.dataset == CHEXPERT_TEST:
                        test_truth += [[float(row[k]) for k in truth_columns] for row in rows.chexpert]
        finally:
            for writer in writers.values():
                writer.close()
            _JOB = None
        counts: dict[str, int] = {}
        if mimic_tmp is not None:
            counts |= {"mimic_studies": sizes[MIMIC], "mimic_images": images[MIMIC],
                       "mimic_subjects": tables[MIMIC].n_subjects}
        if chexpert_tmp is not None:
            counts |= {"chexpert_train_images": writers[CHEXPERT_TRAIN].rows,
                       "chexpert_valid_images": writers[CHEXPERT_VALID].rows,
                       "chexpert_train_studies": sizes[CHEXPERT_TRAIN],
                       "chexpert_valid_studies": sizes[CHEXPERT_VALID],
                       "chexpert_test_images": images[CHEXPERT_TEST],
                       "chexpert_test_studies": sizes[CHEXPERT_TEST]}
            if sizes[CHEXPERT_TEST]:
                counts["chexpert_test_reader_rows"] = write_readers_csv(
                    chexpert_tmp / PHANTOM_READERS_CSV, cfg.seed, np.array(test_truth, dtype=np.float64))
                counts["chexpert_test_segmentations"] = write_test_segmentations(chexpert_tmp)
    log.info("phantom: wrote %s", counts)
    return counts


@dataclass(frozen=True)
class PhantomOutputs:
    """The trees to write (None: not this one). The phantom reads nothing."""

    mimic: str | os.PathLike[str] | None = None
    chexpert: str | os.PathLike[str] | None = None


def run_phantom(config: PhantomConfig, inputs: None, outputs: PhantomOutputs, *, threads: int = 1) -> Sidecar:
    """The phantom stage: write ``outputs``' trees (:func:`generate_phantom`), each with its sidecar (its own row
    counts); returns the sidecar of the first tree written."""
    if inputs is not None:
        raise ValueError("the phantom reads no inputs")
    if outputs.mimic is None and outputs.chexpert is None:
        raise ValueError("the phantom needs a tree to write: outputs.mimic, outputs.chexpert or both")
    start = time.perf_counter()
    counts = generate_phantom(config, outputs.mimic, outputs.chexpert, threads=threads)
    seconds = time.perf_counter() - start
    written = []
    for out, prefix in ((outputs.mimic, "mimic_"), (outputs.chexpert, "chexpert_")):
        if out is not None:
            rows = {key: value for key, value in counts.items() if key.startswith(prefix)}
            write_sidecar(out, config=to_dict(config), rows=rows, seconds=seconds)
            written.append(out)
    log.info("phantom: done in %.1f s", seconds)
    return read_sidecar(written[0])
