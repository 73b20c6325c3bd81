# Real-image statistics once per task and metric (toy) or per task, extractor and N (real features),
# features of each configuration's images once per extractor, then one score per configuration and metric.


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


rule reference_features:
    input:
        unpack(extractor_inputs),
    output:
        REFERENCE_FEATURES,
    params:
        options=extractor_options,
        image_size=lambda wc: task(wc)["reference"]["image_size"] or task(wc)["resolution"],
        device=device(),
    resources:
        gpu=1,
    log:
        "logs/reference_features/{task}/{extractor}/n{n}.log",
    benchmark:
        "benchmarks/reference_features/{task}/{extractor}/n{n}.tsv"
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/reference_features.py"


rule image_features:
    input:
        unpack(image_feature_inputs),
    output:
        FEATURES,
    params:
        options=extractor_options,
        device=device(),
    resources:
        gpu=1,
    log:
        "logs/image_features/{task}/{model}/{sampler}/s{steps}_g{guidance}/{extractor}.log",
    benchmark:
        "benchmarks/image_features/{task}/{model}/{sampler}/s{steps}_g{guidance}/{extractor}.tsv"
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/image_features.py"


rule score:
    input:
        unpack(score_inputs),
    output:
        "results/scores/{task}/{model}/{sampler}/s{steps}_g{guidance}/{metric}.json",
    params:
        bootstrap=lambda wc: task(wc)["bootstrap"],
        options=metric_options,
    log:
        "logs/score/{task}/{model}/{sampler}/s{steps}_g{guidance}/{metric}.log",
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/score.py"
