# Stage 4: pretraining, one job per (method, pretraining seed) (methods: src/igcl/methods.py; seeds:
# pretrain.seeds): image shard (+ graphs for igcl, report texts via the manifest for convirt) ->
# results/pretrain/{method}/seed{seed}/ (checkpoint.safetensors, config.json, train_log.csv, vocabulary/tokenizer).
# The baselines write their encoder there too (random: the seeded initialisation; pixels: the PCA).
# A killed job resumes from results/pretrain/{method}/seed{seed}/resume/ when rerun.
# GPU: snakemake --configfile config/gpu.yaml (see that file).


def get_pretrain_input(wildcards):
    inputs = {
        "images": "data/images/pretrain.npy",
        "index": "data/images/pretrain.index.parquet",
        "code": stage_sources("pretrain"),
    }
    entry = method_entry(wildcards.method)
    side = entry.report_side
    if side == GRAPHS:
        inputs["graphs"] = "data/graphs"
        features = get_node_features_dir(wildcards.method)
        if features is not None:  # pretrain.graph.node_features: text_model
            inputs["node_features"] = features
    if side == TEXT:
        inputs["manifest"] = "data/manifests/pretrain.parquet"
        text_model = run_pretrain_section(wildcards.method).get("text", {}).get("model_path")
        if text_model is not None:  # a local Hugging Face model folder: replacing it reruns pretraining
            inputs["text_model"] = text_model
    # a local image-encoder weights file (pretrain.image.weights): replacing it reruns pretraining; pixels has no
    # timm encoder, so it does not read the file
    image = run_pretrain_section(wildcards.method).get("image", {})
    if image.get("weights") is not None and not entry.pixel_pca:
        inputs["image_weights"] = image["weights"]
    return inputs


def get_pretrain_report_args(wildcards, input):
    # Only the report side the method reads, so graphs do not rerun convirt and the manifest does not rerun igcl.
    side = method_entry(wildcards.method).report_side
    if side == GRAPHS:
        features = f" --node-features {input.node_features}" if "node_features" in input.keys() else ""
        return f"--graphs {input.graphs}{features}"
    if side == TEXT:
        return f"--manifest {input.manifest}"
    return ""


def get_pretrain_settings(wildcards):
    """The pretrain section (a variant's overrides merged in) with this job's own seed in place of the seed list,
    so adding a seed to pretrain.seeds plans only that seed's jobs."""
    values = pretrain_job_values(run_pretrain_section(wildcards.method), wildcards.seed)
    science, _ = split_execution("pretrain", values)
    return shlex.quote(json.dumps(science, sort_keys=True))


def get_pretrain_launcher(wildcards, resources):
    """One process (`igcl`) up to one GPU; with more GPUs, torchrun starts one DDP process per GPU (NCCL)."""
    gpus = int(resources.gpu)
    if gpus > 1:
        # "--" stops torchrun's own option parsing: unquoted, igcl's --log is an ambiguous torchrun option prefix.
        # torch.distributed.run is torchrun, through the job's Python so no activated environment is needed.
        torchrun = f"{shlex.quote(JOB_PYTHON)} -m torch.distributed.run"
        return f"{torchrun} --standalone --nproc-per-node {gpus} -m -- igcl.cli.main"
    return "igcl"


def get_pretrain_mem_mb(wildcards, threads):
    # The image shard is memory-mapped; the model, optimizer state and one batch dominate.
    return 4000 + 500 * threads


rule pretrain:
    input:
        unpack(get_pretrain_input),
    output:
        checkpoint="results/pretrain/{method}/seed{seed}/checkpoint.safetensors",
        config="results/pretrain/{method}/seed{seed}/config.json",
        train_log="results/pretrain/{method}/seed{seed}/train_log.csv",
    log:
        "logs/pretrain/{method}/seed{seed}.log",
    benchmark:
        "benchmarks/pretrain/{method}/seed{seed}.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        settings=get_pretrain_settings,
        report_args=get_pretrain_report_args,
        launcher=get_pretrain_launcher,
        base=lambda wildcards: base_method(wildcards.method),
        out="results/pretrain/{method}/seed{seed}",
    wildcard_constraints:
        method=METHOD_PATTERN,
        seed=r"\d+",
    threads: workflow.cores
    resources:
        mem_mb=get_pretrain_mem_mb,
        runtime=60,
        # GPUs for the job: 0 here (CPU, or the one visible GPU with device: auto); profiles set it
        # (workflow/profiles/slurm: 1). More than one launches torchrun with a process per GPU.
        gpu=0,
    retries: 1  # a killed job resumes from its last checkpoint, so one retry is cheap
    shell:
        "{params.launcher} pretrain --settings {params.settings} --runtime {RUNTIME[pretrain]} --method {params.base} "
        "--images {input.images} --image-index {input.index} {params.report_args} --out {params.out} "
        "--threads {threads} --log {log}"
