# igcl: Image-Graph Contrastive Learning for chest X-ray encoders.
# ingest -> parse -> images -> pretrain -> evaluate -> report; see README.md and rules/*.smk.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/parse.smk"
include: "rules/node_features.smk"
include: "rules/images.smk"
include: "rules/pretrain.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"


rule all:
    input:
        get_final_outputs(),
    default_target: True
