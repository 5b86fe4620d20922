# Stage 1: the phantom data set (when no real root is configured) and ingest into Parquet manifests.


# One job per tree: each study's randomness depends only on the seed, its data set and its index, so a tree is the
# same alone or with the other, and each job's params leave out the keys its tree does not read (the CheXpert
# sizes for MIMIC; the MIMIC size and split fractions for CheXpert). Changing the evaluation set's size then
# rewrites the CheXpert tree and everything after it, but not the pretraining data or the checkpoints.
PHANTOM_TREES = {  # tree directory -> (igcl phantom's output option, phantom keys the tree does not read)
    "mimic-cxr-jpg": ("--mimic-out", ("eval_train_studies", "eval_valid_studies", "eval_test_studies")),
    "CheXpert-v1.0-small": ("--chexpert-out",
                            ("pretrain_studies", "train_fraction", "validate_fraction", "test_fraction")),
}


rule phantom:
    input:
        code=stage_sources("phantom"),
    output:
        directory(f"{PHANTOM_ROOT}/{{tree}}"),
    log:
        "logs/phantom/{tree}.log",
    benchmark:
        "benchmarks/phantom/{tree}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        settings=lambda wildcards: settings("phantom", without=PHANTOM_TREES[wildcards.tree][1]),
        out_option=lambda wildcards: PHANTOM_TREES[wildcards.tree][0],
    wildcard_constraints:
        tree="|".join(PHANTOM_TREES),
    threads: 2
    resources:
        mem_mb=2000,
        runtime=60,
    shell:
        "igcl phantom --settings {params.settings} {params.out_option} {output} --threads {threads} --log {log}"


def get_ingest_input(wildcards):
    if wildcards.manifest == "pretrain":
        roots = {"root": get_mimic_root(), "reports_root": get_mimic_reports_root()}
    else:
        roots = {"root": get_chexpert_root()}
    return roots | {"code": stage_sources("ingest")}


def get_ingest_format(wildcards):
    return "mimic" if wildcards.manifest == "pretrain" else "chexpert"


def get_ingest_roots(wildcards):
    """The resolved roots ingest reads, as params: a changed root reruns ingest even where the old and the new
    folder hold files with the same names and times."""
    if wildcards.manifest == "pretrain":
        return shlex.quote(json.dumps({"root": get_mimic_root(), "reports_root": get_mimic_reports_root()}))
    return shlex.quote(json.dumps({"root": get_chexpert_root()}))


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
        roots=get_ingest_roots,
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
