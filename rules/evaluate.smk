# Stage 5: downstream evaluation of each (method, pretraining seed) checkpoint: CheXpert linear probe (1/10/100 %
# labels × sampling seeds), few-shot, optional fine-tuning, zero-shot prompts, thresholded metrics and radiologist
# operating points (on CheXpert test, when the data have it), and MIMIC test-split image→report retrieval; AUROC
# with bootstrap CIs -> results/eval/{method}/seed{seed}/.


def get_evaluate_outputs(method="{method}", seed="{seed}"):
    """The tables one evaluate job writes (finetune.parquet only when evaluate.finetune.enabled)."""
    names = ["linear", "fewshot", "retrieval", "scores", "zeroshot", "thresholds", "radiologists"]
    if config["evaluate"]["finetune"]["enabled"]:
        names.append("finetune")
    return [f"results/eval/{method}/seed{seed}/{name}.parquet" for name in names]


PROMPT_GRAPHS = "data/prompts/graphs.parquet"


def zeroshot_prompt_settings():
    """What the prompt graphs depend on: the templates and per-pathology prompts (not per_class, nor graphs)."""
    zeroshot = config["evaluate"]["zeroshot"]
    return shlex.quote(json.dumps({key: zeroshot[key] for key in ("templates", "prompts")}, sort_keys=True))


rule prompts:
    input:
        code=stage_sources("prompts"),
    output:
        PROMPT_GRAPHS,
    log:
        "logs/prompts/prompts.log",
    benchmark:
        "benchmarks/prompts/prompts.tsv"
    conda:
        "../envs/parse.yaml"
    params:
        settings=zeroshot_prompt_settings(),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "igcl prompts --settings {params.settings} --out {output} --log {log}"


def get_evaluate_input(wildcards):
    """The checkpoint, the CheXpert shard, and for a method with a report encoder (retrieval) the MIMIC shard and
    its own report side only: graphs do not rerun convirt's evaluation, nor anything image_only's."""
    inputs = {
        "checkpoint": f"results/pretrain/{wildcards.method}/seed{wildcards.seed}/checkpoint.safetensors",
        "checkpoint_config": f"results/pretrain/{wildcards.method}/seed{wildcards.seed}/config.json",
        "eval_images": "data/images/eval.npy",
        "eval_index": "data/images/eval.index.parquet",
        "code": stage_sources("evaluate"),
    }
    entry = method_entry(wildcards.method)
    if entry.has_report_encoder and config["evaluate"]["retrieval"]["enabled"]:
        inputs["retrieval_images"] = "data/images/pretrain.npy"
        inputs["retrieval_index"] = "data/images/pretrain.index.parquet"
        if entry.report_side == GRAPHS:
            inputs["graphs"] = "data/graphs"
            features = get_node_features_dir(wildcards.method)
            if features is not None:  # pretrain.graph.node_features: text_model
                inputs["node_features"] = features
        if entry.report_side == TEXT:
            inputs["manifest"] = "data/manifests/pretrain.parquet"
    if entry.report_side == GRAPHS and config["evaluate"]["zeroshot"]["enabled"]:
        inputs["prompt_graphs"] = PROMPT_GRAPHS  # graph prompts: parsed by the prompts stage, not by evaluate
    readers = get_radiologists_csv()
    if readers is not None and not readers.startswith(f"{PHANTOM_ROOT}/"):
        # a user's or the shipped file: an edit reruns the evaluation. The phantom's lies inside the phantom
        # tree (a directory output, upstream of every evaluation already), so it travels as a param only.
        inputs["radiologists"] = readers
    return inputs


def get_evaluate_radiologists_arg(wildcards):
    readers = get_radiologists_csv()
    return "" if readers is None else f"--radiologists {shlex.quote(readers)}"


def get_evaluate_retrieval_args(wildcards, input):
    options = {"retrieval_images": "--retrieval-images", "retrieval_index": "--retrieval-index",
               "graphs": "--graphs", "node_features": "--node-features", "manifest": "--manifest",
               "prompt_graphs": "--prompt-graphs"}
    return " ".join(f"{option} {getattr(input, key)}" for key, option in options.items() if key in input.keys())


def get_evaluate_mem_mb(wildcards, threads):
    return 4000 + 500 * threads


rule evaluate:
    input:
        unpack(get_evaluate_input),
    output:
        get_evaluate_outputs(),
    log:
        "logs/evaluate/{method}/seed{seed}.log",
    benchmark:
        "benchmarks/evaluate/{method}/seed{seed}.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        settings=settings("evaluate"),
        checkpoint_dir="results/pretrain/{method}/seed{seed}",
        base=lambda wildcards: base_method(wildcards.method),
        out="results/eval/{method}/seed{seed}",
        retrieval=get_evaluate_retrieval_args,
        radiologists=get_evaluate_radiologists_arg,
    wildcard_constraints:
        method=METHOD_PATTERN,
        seed=r"\d+",
    threads: workflow.cores
    resources:
        mem_mb=get_evaluate_mem_mb,
        runtime=60,
        gpu=0,
    shell:
        "igcl evaluate --settings {params.settings} --runtime {RUNTIME[evaluate]} --method {params.base} "
        "--label {wildcards.method} --checkpoint {params.checkpoint_dir} --eval-images {input.eval_images} "
        "--eval-index {input.eval_index} {params.retrieval} {params.radiologists} --out {params.out} --threads {threads} --log {log}"
