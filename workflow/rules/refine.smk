# Adaptive refinement (config `refine`): every configuration is scored on its first images, round by round; after
# each round a checkpoint plans which configurations get their next level, until nothing is left to refine.


use rule image_features as image_features_n with:
    output:
        FEATURES_N,
    log:
        results("logs/image_features/{task}/{model}/{sampler}/s{steps}_g{guidance}/n{n}/{extractor}.log"),
    benchmark:
        results("benchmarks/image_features/{task}/{model}/{sampler}/s{steps}_g{guidance}/n{n}/{extractor}.tsv")


use rule score as score_n with:
    output:
        SCORE_N,
    log:
        results("logs/score/{task}/{model}/{sampler}/s{steps}_g{guidance}/n{n}/{metric}.log"),


checkpoint refine_plan:
    input:
        unpack(refine_inputs),
    output:
        results(rounds.ROUND),
    params:
        images=lambda wc: round_images(int(wc.round)),
        caps=image_caps(),
        metrics=METRICS_USED,
        bootstrap=config["frontier"]["bootstrap"],
        looks=looks(),
        tolerance=REFINE.get("tolerance", {}) if REFINE else {},
        budgets={"edges": config["frontier"]["budgets"], "buckets": config["frontier"]["buckets"]},
        reference_model=config["cost"]["reference_model"],
        trained_models=TOY_MODELS,
        teachers=cfg.teachers(config),
    log:
        results("logs/refine_plan/round{round}.log"),
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/refine_plan.py"


rule refinement:
    input:
        plans=lambda wc: plan_files(),
    output:
        rounds=results(rounds.REFINEMENT),
        open=results(rounds.OPEN),
    params:
        caps=image_caps(),
        shard_sizes={name: t["shard_size"] for name, t in config["tasks"].items()},
        benchmarks=results("benchmarks/generate"),  # the generate jobs' wall seconds, where recorded
    log:
        results("logs/refinement.log"),
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/refinement.py"
