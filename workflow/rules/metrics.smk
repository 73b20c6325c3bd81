# Real-image statistics once per task and metric, then one score per configuration and metric.


rule reference_stats:
    input:
        prompts="results/tasks/{task}/prompts.json",
        scorer=f"{TOY}/scorer",
    output:
        "results/reference/{task}/{metric}.json",
    params:
        reference_images=lambda wc: task(wc)["reference_images"] or task(wc)["num_images"],
        image_size=config["toy"]["image_size"],
    log:
        "logs/reference_stats/{task}/{metric}.log",
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/reference_stats.py"


rule score:
    input:
        unpack(score_inputs),
    output:
        "results/scores/{task}/{model}/{sampler}/s{steps}_g{guidance}/{metric}.json",
    params:
        bootstrap=lambda wc: task(wc)["bootstrap"],
    log:
        "logs/score/{task}/{model}/{sampler}/s{steps}_g{guidance}/{metric}.log",
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/score.py"
