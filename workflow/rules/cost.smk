# Cost of each model: FLOPs counted on the meta device, latency timed on the runtime device.


rule count_flops:
    input:
        "resources/models/{model}",
    output:
        FLOPS,
    params:
        resolution=cfg.cost_resolution(config),
    log:
        results("logs/count_flops/{model}.log"),
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/count_flops.py"


rule profile_latency:
    input:
        "resources/models/{model}",
    output:
        LATENCY,
    params:
        resolution=cfg.cost_resolution(config),
        device=device(),
        dtype=latency_dtype(),
        warmup=config["cost"]["warmup"],
        repeats=config["cost"]["repeats"],
        channels_last=config["cost"]["channels_last"],
        compile=config["cost"]["compile"],
        end_to_end=config["cost"]["end_to_end"],
        end_to_end_repeats=config["cost"]["end_to_end_repeats"],
    resources:
        gpu=1,
    log:
        results("logs/profile_latency/{model}_b{batch}.log"),
    benchmark:
        results("benchmarks/profile_latency/{model}_b{batch}.tsv")
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/profile_latency.py"


rule cost_table:
    input:
        unpack(cost_table_inputs),
    output:
        csv=results("cost/table.csv"),
        md=results("cost/table.md"),
    params:
        sources=model_descriptions(),
        reference_model=config["cost"]["reference_model"],
    log:
        results("logs/cost_table.log"),
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/cost_table.py"
