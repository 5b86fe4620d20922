# Optional stage 2b: contextual node features for igcl runs with pretrain.graph.node_features: text_model.
# graphs + the reports they were parsed from + a local Hugging Face model folder -> data/node_features/{name}/
# (features.npy, index.parquet, info.json; src/igcl/contracts/node_features.py), {name} the model folder's name.
# Computed once per model; the default config (node_features: learned) plans no job here.

import re

from igcl.models.hf_folder import model_name


def text_model_folder(run):
    """The model folder (normalised path) of ``run``'s text-model node features, or None when it reads none."""
    graph = run_pretrain_section(run).get("graph", {})
    if method_entry(run).report_side != GRAPHS or graph.get("node_features") != "text_model":
        return None
    return os.path.normpath(graph["text_model_path"])


def _text_model_folders():
    """{name: model folder} of every listed run reading text-model node features; two folders of one name are an
    error (their stores would share data/node_features/{name})."""
    folders = {}
    for run in config["methods"]:
        path = text_model_folder(run)
        if path is None:
            continue
        name = model_name(path)
        if folders.get(name, path) != path:
            raise ValueError(f"pretrain.graph.text_model_path: {folders[name]} and {path} share the name {name!r} "
                             "(data/node_features/{name}); rename one folder")
        folders[name] = path
    return folders


TEXT_MODEL_FOLDERS = _text_model_folders()


def get_node_features_dir(run):
    """data/node_features/{name} when ``run`` reads text-model node features, else None."""
    path = text_model_folder(run)
    return None if path is None else f"data/node_features/{model_name(path)}"


def get_node_features_input(wildcards):
    return {
        "graphs": "data/graphs",
        "reports": get_parse_input(wildcards)["reports"],
        "model": TEXT_MODEL_FOLDERS[wildcards.name],
        "code": stage_sources("node_features"),
    }


def get_node_features_mem_mb(wildcards, threads):
    # The model, one batch of windows and the report texts; the vectors go straight to a memory-mapped file.
    return 4000 + 500 * threads


rule node_features:
    input:
        unpack(get_node_features_input),
    output:
        directory("data/node_features/{name}"),
    log:
        "logs/node_features/{name}.log",
    benchmark:
        "benchmarks/node_features/{name}.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        settings=settings("node_features"),
        model=lambda wildcards: TEXT_MODEL_FOLDERS[wildcards.name],
    wildcard_constraints:
        name="|".join(re.escape(name) for name in TEXT_MODEL_FOLDERS) or "(?!)",
    threads: workflow.cores
    resources:
        mem_mb=get_node_features_mem_mb,
        runtime=120,
        gpu=0,
    shell:
        "igcl node_features --settings {params.settings} --runtime {RUNTIME[node_features]} --graphs {input.graphs} "
        "--reports {input.reports} --model {params.model} --out {output} --threads {threads} --log {log}"
