# Prompts per task, then images per configuration shard.


rule prepare_task:
    input:
        unpack(task_data),
    output:
        PROMPTS,
    params:
        kind=lambda wc: task(wc)["kind"],
        super_resolution=lambda wc: task(wc)["super_resolution"],
        prompts=lambda wc: task(wc)["prompts"],
        num_images=lambda wc: task(wc)["num_images"],
        reference=lambda wc: task(wc)["reference"],
        reference_images=lambda wc: reference_count(task(wc)),
    log:
        results("logs/prepare_task/{task}.log"),
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/prepare_task.py"


rule generate:
    input:
        model="resources/models/{model}",
        prompts=PROMPTS,
    output:
        directory(SHARD),
    wildcard_constraints:
        sampler="|".join(sorted(smp.SAMPLERS)),  # not a super-resolution baseline's (rule baseline)
    params:
        sampler=lambda wc: smp.get(wc.sampler).identity(),
        seed=lambda wc: task(wc)["seed"],
        shard_size=generate_shards,  # or a refined shard's bounds
        batch_size=lambda wc: task(wc)["batch_size"],
        resolution=lambda wc: task(wc)["resolution"],
        device=device(),
        dtype=config["runtime"]["dtype"],
    resources:
        gpu=1,
    log:
        results("logs/generate/{task}/{model}/{sampler}/s{steps}_g{guidance}/shard{shard}.log"),
    benchmark:
        results("benchmarks/generate/{task}/{model}/{sampler}/s{steps}_g{guidance}/shard{shard}.tsv")
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/generate.py"


# A super-resolution task's baselines: its inputs upscaled without a model, at zero sampling cost, scored like a model.
rule baseline:
    input:
        prompts=PROMPTS,
    output:
        directory(SHARD),
    wildcard_constraints:
        sampler=paths.BASELINE,
        model=paths.names_regex(paths.BASELINES),
    params:
        shard_size=lambda wc: task(wc)["shard_size"],
    log:
        results("logs/baseline/{task}/{model}/{sampler}/s{steps}_g{guidance}/shard{shard}.log"),
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/baseline.py"
