"""The official file layouts and CSV column lists of MIMIC-CXR-JPG 2.0.0 and CheXpert v1.0.

The phantom writer writes exactly these, and the readers require them, so a real download and the phantom go
through the same ingest code.
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
