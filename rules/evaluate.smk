# Stage 5: downstream evaluation of each (method, pretraining seed) checkpoint: CheXpert linear probe (1/10/100 %
# labels × sampling seeds), few-shot, optional fine-tuning, and MIMIC test-split image→report retrieval; AUROC with
# bootstrap CIs -> results/eval/{method}/seed{seed}/.


def get_evaluate_outputs(method="{method}", seed="{seed}"):
    """The tables one evaluate job writes (finetune.parquet only when evaluate.finetune.enabled)."""
    names = ["linear", "fewshot", "retrieval", "scores"]
    if config["evaluate"]["finetune"]["enabled"]:
        names.append("finetune")
    return [f"results/eval/{method}/seed{seed}/{name}.parquet" for name in names]


def get_evaluate_mem_mb(wildcards, threads):
    return 4000 + 500 * threads


rule evaluate:
    input:
        checkpoint="results/pretrain/{method}/seed{seed}/checkpoint.safetensors",
        checkpoint_config="results/pretrain/{method}/seed{seed}/config.json",
        eval_images="data/images/eval.npy",
        eval_index="data/images/eval.index.parquet",
        retrieval_images="data/images/pretrain.npy",
        retrieval_index="data/images/pretrain.index.parquet",
        manifest="data/manifests/pretrain.parquet",
        graphs="data/graphs",
        code=stage_sources("evaluate", "methods.py", "cli/evaluate.py"),
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
    wildcard_constraints:
        method=METHOD_PATTERN,
        seed=r"\d+",
    threads: workflow.cores
    resources:
        mem_mb=get_evaluate_mem_mb,
        runtime=60,
        gpu=0,
    shell:
        "igcl evaluate --settings {params.settings} --method {params.base} --label {wildcards.method} "
        "--checkpoint {params.checkpoint_dir} --eval-images {input.eval_images} --eval-index {input.eval_index} "
        "--retrieval-images {input.retrieval_images} --retrieval-index {input.retrieval_index} "
        "--manifest {input.manifest} --graphs {input.graphs} --out {params.out} --threads {threads} --log {log}"
