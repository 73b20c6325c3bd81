# Real-image features once per task, extractor and N, features of each configuration's images once per
# extractor (the toy scorer is one), then one score per configuration and metric from those, without torch.


rule reference_features:
    input:
        unpack(extractor_inputs),
    output:
        REFERENCE_FEATURES,
    params:
        options=extractor_options,
        image_size=lambda wc: task(wc)["reference"]["image_size"]
        or task(wc)["resolution"]
        or config["toy"]["image_size"],
        device=device(),
    resources:
        gpu=1,
    log:
        results("logs/reference_features/{task}/{extractor}/n{n}.log"),
    benchmark:
        results("benchmarks/reference_features/{task}/{extractor}/n{n}.tsv")
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
        results("logs/image_features/{task}/{model}/{sampler}/s{steps}_g{guidance}/{extractor}.log"),
    benchmark:
        results("benchmarks/image_features/{task}/{model}/{sampler}/s{steps}_g{guidance}/{extractor}.tsv")
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/image_features.py"


rule score:
    input:
        unpack(score_inputs),
    output:
        SCORE,
    params:
        bootstrap=lambda wc: task(wc)["bootstrap"],
        options=metric_options,
    log:
        results("logs/score/{task}/{model}/{sampler}/s{steps}_g{guidance}/{metric}.log"),
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/score.py"
