"""The official file layouts and CSV column lists of MIMIC-CXR-JPG 2.0.0 and CheXpert v1.0 (with its test labels).

The phantom writer writes exactly these, and the readers require them, so a real download and the phantom go
through the same ingest code. The one file here that no real layout has is the phantom's simulated readers
(:data:`PHANTOM_READERS_CSV`).
"""

from igcl.labels import CHEXPERT_OBSERVATIONS

# MIMIC-CXR-JPG 2.0.0 (PhysioNet): files at the root of the data set.
MIMIC_METADATA_CSV = "mimic-cxr-2.0.0-metadata.csv.gz"
MIMIC_SPLIT_CSV = "mimic-cxr-2.0.0-split.csv.gz"
MIMIC_CHEXPERT_CSV = "mimic-cxr-2.0.0-chexpert.csv.gz"

MIMIC_METADATA_COLUMNS: tuple[str, ...] = (
    "dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition", "Rows", "Columns",
    "StudyDate", "StudyTime", "ProcedureCodeSequence_CodeMeaning", "ViewCodeSequence_CodeMeaning",
    "PatientOrientationCodeSequence_CodeMeaning",
)
MIMIC_SPLIT_COLUMNS: tuple[str, ...] = ("dicom_id", "study_id", "subject_id", "split")
# mimic-cxr-2.0.0-chexpert.csv.gz lists the 14 observations alphabetically.
MIMIC_CHEXPERT_COLUMNS: tuple[str, ...] = ("subject_id", "study_id") + tuple(sorted(CHEXPERT_OBSERVATIONS))
MIMIC_SPLITS: tuple[str, ...] = ("train", "validate", "test")

# CheXpert v1.0 (and -small): train.csv and valid.csv at the root; Path is relative to the root's parent,
# e.g. "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg".
CHEXPERT_CSVS: tuple[str, ...] = ("train.csv", "valid.csv")
CHEXPERT_COLUMNS: tuple[str, ...] = ("Path", "Sex", "Age", "Frontal/Lateral", "AP/PA") + CHEXPERT_OBSERVATIONS

# The CheXpert test set (500 studies, patients 64741-65240; labels the consensus of 5 radiologists, 1/0 only).
# Stanford AIMI releases it with CheXlocalize as test_labels.csv at the root: one row per image, Path relative to
# the root ("test/patient64741/study1/view1_frontal.jpg"; a Path that starts with the root's name, as train.csv's
# do, is read too), the 14 observations, no Sex/Age/Frontal-Lateral/AP-PA. rajpurkarlab/cheXpert-test-set-labels
# releases it as groundtruth.csv: one row per study ("test/patient64741/study1"), the study's images found on disk.
# Either is optional; test_labels.csv wins when both are there.
CHEXPERT_TEST_SPLIT = "test"
CHEXPERT_TEST_CSV = "test_labels.csv"
CHEXPERT_TEST_COLUMNS: tuple[str, ...] = ("Path",) + CHEXPERT_OBSERVATIONS
CHEXPERT_GROUNDTRUTH_CSV = "groundtruth.csv"
CHEXPERT_GROUNDTRUTH_COLUMNS: tuple[str, ...] = ("Study",) + CHEXPERT_OBSERVATIONS
CHEXPERT_TEST_CSVS: tuple[str, ...] = (CHEXPERT_TEST_CSV, CHEXPERT_GROUNDTRUTH_CSV)  # in order of preference

# Not part of any real layout: the phantom CheXpert tree's simulated radiologists (igcl.data.phantom.readers), one
# row per reader and competition pathology: the false and true positive rates the reader's reads of the test split
# achieve against test_labels.csv. Lines starting with "#" before the header are comments.
PHANTOM_READERS_CSV = "phantom_radiologists.csv"
PHANTOM_READERS_COLUMNS: tuple[str, ...] = ("reader", "pathology", "fpr", "tpr")
