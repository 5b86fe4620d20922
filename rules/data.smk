# Stage 1: the phantom data set (when no real root is configured) and ingest into Parquet manifests.


# One rule per tree: each study's randomness depends only on the seed, its data set and its index, so a tree is the
# same alone or with the other, and each rule's params leave out the keys its tree does not read (the CheXpert
# sizes for MIMIC; the MIMIC size and split fractions for CheXpert). Changing the evaluation set's size then
# rewrites the CheXpert tree and everything after it, but not the pretraining data or the checkpoints.
PHANTOM_CHEXPERT_ONLY = ("eval_train_studies", "eval_valid_studies")
PHANTOM_MIMIC_ONLY = ("pretrain_studies", "train_fraction", "validate_fraction", "test_fraction")


rule phantom_mimic:
    input:
        code=stage_sources("data/phantom", "cli/phantom.py"),
    output:
        directory(f"{PHANTOM_ROOT}/mimic-cxr-jpg"),
    log:
        "logs/phantom/mimic.log",
    benchmark:
        "benchmarks/phantom/mimic.tsv"
    conda:
        "../envs/data.yaml"
    params:
        settings=settings("phantom", without=PHANTOM_CHEXPERT_ONLY),
    threads: 2
    resources:
        mem_mb=2000,
        runtime=60,
    shell:
        "igcl phantom --settings {params.settings} --mimic-out {output} --threads {threads} --log {log}"


rule phantom_chexpert:
    input:
        code=stage_sources("data/phantom", "cli/phantom.py"),
    output:
        directory(f"{PHANTOM_ROOT}/CheXpert-v1.0-small"),
    log:
        "logs/phantom/chexpert.log",
    benchmark:
        "benchmarks/phantom/chexpert.tsv"
    conda:
        "../envs/data.yaml"
    params:
        settings=settings("phantom", without=PHANTOM_MIMIC_ONLY),
    threads: 2
    resources:
        mem_mb=2000,
        runtime=60,
    shell:
        "igcl phantom --settings {params.settings} --chexpert-out {output} --threads {threads} --log {log}"


def get_ingest_input(wildcards):
    if wildcards.manifest == "pretrain":
        roots = {"root": get_mimic_root(), "reports_root": get_mimic_reports_root()}
    else:
        roots = {"root": get_chexpert_root()}
    return roots | {"code": stage_sources("data/mimic.py", "data/chexpert.py", "data/manifest.py", "cli/ingest.py")}


def get_ingest_format(wildcards):
    return "mimic" if wildcards.manifest == "pretrain" else "chexpert"


def get_reports_arg(wildcards, input):
    return f"--reports-root {input.reports_root}" if wildcards.manifest == "pretrain" else ""


rule ingest:
    input:
        unpack(get_ingest_input),
    output:
        "data/manifests/{manifest}.parquet",
    log:
        "logs/ingest/{manifest}.log",
    benchmark:
        "benchmarks/ingest/{manifest}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        settings=settings("ingest"),
        format=get_ingest_format,
        reports=get_reports_arg,
    wildcard_constraints:
        manifest="pretrain|eval",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "igcl ingest --settings {params.settings} --format {params.format} --root {input.root} "
        "{params.reports} --out {output} --log {log}"
