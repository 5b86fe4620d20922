# Stage 2: reports -> RadGraph-schema graph shards (data/graphs/part-*.parquet) + graph-derived labels.
# graphs.source picks the input: spacy parses the pretraining manifest's reports; radgraph_json imports the
# RadGraph JSON file named by graphs.radgraph_json.


def get_parse_input(wildcards):
    code = stage_sources("parse")
    if config["graphs"]["source"] == "radgraph_json":
        return {"reports": config["graphs"]["radgraph_json"], "code": code}
    return {"reports": "data/manifests/pretrain.parquet", "code": code}


def get_parse_mem_mb(wildcards, threads):
    # Each worker holds one spaCy pipeline and a chunk of graphs; the main process holds every report text.
    return 2000 + 1000 * threads


rule parse:
    input:
        unpack(get_parse_input),
    output:
        directory("data/graphs"),
    log:
        "logs/parse/parse.log",
    benchmark:
        "benchmarks/parse/parse.tsv"
    conda:
        "../envs/parse.yaml"
    params:
        settings=settings("graphs"),
    threads: workflow.cores
    resources:
        mem_mb=get_parse_mem_mb,
        runtime=120,
    shell:
        "igcl parse --settings {params.settings} --runtime {RUNTIME[graphs]} --input {input.reports} "
        "--out {output} --threads {threads} --log {log}"
