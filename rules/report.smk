# Stage 6: every method's evaluation side by side: results/summary.md and figures (also in `snakemake --report`).

REPORT_FIGURES = {
    "label_efficiency": "../workflow/report/label_efficiency.rst",
    "roc": "../workflow/report/roc.rst",
    "retrieval": "../workflow/report/retrieval.rst",
}


def get_report_outputs():
    """The report's output files; `rule all` depends on them."""
    return ["results/summary.md", "results/comparisons.parquet"] + [
        f"results/figures/{name}.png" for name in REPORT_FIGURES]


def get_report_input(wildcards):
    tables = {}
    for method, seed in method_runs():
        tables[f"{method}_seed{seed}"] = get_evaluate_outputs(method, seed)
    return tables | {"code": stage_sources("report")}


def get_report_eval_dirs(wildcards):
    return " ".join(f"results/eval/{method}/seed{seed}" for method, seed in method_runs())


rule report:
    input:
        unpack(get_report_input),
    output:
        summary=report("results/summary.md", caption="../workflow/report/summary.rst", category="Summary"),
        comparisons="results/comparisons.parquet",
        label_efficiency=report("results/figures/label_efficiency.png", caption=REPORT_FIGURES["label_efficiency"],
                                category="Evaluation"),
        roc=report("results/figures/roc.png", caption=REPORT_FIGURES["roc"], category="Evaluation"),
        retrieval=report("results/figures/retrieval.png", caption=REPORT_FIGURES["retrieval"],
                         category="Evaluation"),
    log:
        "logs/report/report.log",
    benchmark:
        "benchmarks/report/report.tsv"
    conda:
        "../envs/report.yaml"
    params:
        settings=settings("report"),
        eval_dirs=get_report_eval_dirs,
        bases=lambda wildcards: shlex.quote(json.dumps({name: base_method(name) for name in config["methods"]},
                                                       sort_keys=True)),
        figures="results/figures",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "igcl report --settings {params.settings} --eval-dirs {params.eval_dirs} --out {output.summary} "
        "--bases {params.bases} --comparisons {output.comparisons} --figures {params.figures} --log {log}"
