# Stage 3: manifest JPEGs -> one uint8 image array per manifest (data/images/{manifest}.npy, [N, size, size])
# plus its row-aligned index (data/images/{manifest}.index.parquet); see src/igcl/data/imageshards/.


def get_images_mem_mb(wildcards, threads):
    # Memory is bounded at any N: the array is written chunk by chunk in order; each worker holds one chunk of images.
    return 1000 + 500 * threads


rule images:
    input:
        manifest="data/manifests/{manifest}.parquet",
        code=stage_sources("images"),
    output:
        array="data/images/{manifest}.npy",
        index="data/images/{manifest}.index.parquet",
    log:
        "logs/images/{manifest}.log",
    benchmark:
        "benchmarks/images/{manifest}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        settings=settings("images"),
    wildcard_constraints:
        manifest="pretrain|eval",
    threads: workflow.cores
    resources:
        mem_mb=get_images_mem_mb,
        runtime=240,
    shell:
        "igcl images --settings {params.settings} --manifest {input.manifest} --out {output.array} "
        "--index {output.index} --threads {threads} --log {log}"
