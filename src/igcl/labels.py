"""CheXpert observation names, in the order CheXpert's train.csv lists them.

Label values everywhere in igcl follow CheXpert's convention: 1.0 positive, 0.0 negative, -1.0 uncertain,
null (NaN) not mentioned. The order below travels with every label table and checkpoint.
"""

CHEXPERT_OBSERVATIONS: tuple[str, ...] = (
    "No Finding",
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Opacity",
    "Lung Lesion",
    "Edema",
    "Consolidation",
    "Pneumonia",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Pleural Other",
    "Fracture",
    "Support Devices",
)

# The five pathologies of the CheXpert competition, used for downstream AUROC.
COMPETITION_PATHOLOGIES: tuple[str, ...] = (
    "Atelectasis",
    "Cardiomegaly",
    "Consolidation",
    "Edema",
    "Pleural Effusion",
)

POSITIVE, NEGATIVE, UNCERTAIN = 1.0, 0.0, -1.0

# RadGraph's entity labels and relations (../shared/RADGRAPH_SCHEMA.md): the graph shards' vocabulary.
ENTITY_LABELS: tuple[str, ...] = ("OBS-DP", "OBS-U", "OBS-DA", "ANAT-DP")
RELATIONS: tuple[str, ...] = ("modify", "located_at", "suggestive_of")
