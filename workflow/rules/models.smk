# The toy family's shared parts, its members' training, the checkpoints shipped from them,
# and every model's pipeline directory.


rule toy_text_encoder:
    output:
        directory(f"{TOY_BUILT}/text"),
    params:
        seed=config["toy"]["seed"],
        recipe=config["toy"]["text_encoder"],
    log:
        results("logs/toy_text_encoder.log"),
    benchmark:
        results("benchmarks/toy_text_encoder.tsv")
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/toy_text_encoder.py"


rule toy_autoencoder:
    output:
        directory(f"{TOY_BUILT}/vae"),
    params:
        seed=config["toy"]["seed"],
        image_size=config["toy"]["image_size"],
        recipe=config["toy"]["autoencoder"],
    threads: 2
    log:
        results("logs/toy_autoencoder.log"),
    benchmark:
        results("benchmarks/toy_autoencoder.tsv")
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/toy_autoencoder.py"


rule toy_scorer:
    output:
        directory(f"{TOY_BUILT}/scorer"),
    params:
        seed=config["toy"]["seed"],
        image_size=config["toy"]["image_size"],
        recipe=config["toy"]["scorer"],
    log:
        results("logs/toy_scorer.log"),
    benchmark:
        results("benchmarks/toy_scorer.tsv")
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/toy_scorer.py"


rule train_unet:
    input:
        vae=f"{TOY_BUILT}/vae",
        text=f"{TOY_BUILT}/text",
    output:
        unet=directory(results("models/{model}/unet")),
        record=results("models/{model}/train.json"),
    wildcard_constraints:
        model=paths.names_regex(TOY_TEACHERS),
    params:
        width=lambda wc: model(wc)["toy"]["width"],
        kind=lambda wc: model(wc)["toy"]["kind"],
        recipe={**config["toy"]["unet"], "seed": config["toy"]["seed"]},
    log:
        results("logs/train_unet/{model}.log"),
    benchmark:
        results("benchmarks/train_unet/{model}.tsv")
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/train_unet.py"


rule distill_unet:
    input:
        unpack(distill_inputs),
        vae=f"{TOY_BUILT}/vae",
        text=f"{TOY_BUILT}/text",
    output:
        unet=directory(results("models/{model}/unet")),
        record=results("models/{model}/distill.json"),
    wildcard_constraints:
        model=paths.names_regex(TOY_STUDENTS),
    params:
        recipe={**config["toy"]["distill"], "seed": config["toy"]["seed"]},
    log:
        results("logs/distill_unet/{model}.log"),
    benchmark:
        results("benchmarks/distill_unet/{model}.tsv")
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/distill_unet.py"


rule prepare_model:
    input:
        unpack(model_sources),
    output:
        directory("resources/models/{model}"),
    params:
        source=lambda wc: cfg.source(model(wc)),
        spec=lambda wc: cfg.source_entry(model(wc))[cfg.source(model(wc))],
        lora=lambda wc: model(wc).get("lora"),
        untrained_seed=lambda wc: config["toy"]["seed"] if model(wc)["predict"] else None,
    log:
        results("logs/prepare_model/{model}.log"),
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/prepare_model.py"


rule ship_toy:
    input:
        parts=[f"{TOY_BUILT}/{part}" for part in ("text", "vae", "scorer")],
        unets=expand(results("models/{model}/unet"), model=TOY_T2I),
        records=expand(results("models/{model}/train.json"), model=TOY_T2I),
        student_unets=expand(results("models/{model}/unet"), model=TOY_STUDENTS),
        student_records=expand(results("models/{model}/distill.json"), model=TOY_STUDENTS),
        sr_unets=expand(results("models/{model}/unet"), model=TOY_SR),
        sr_records=expand(results("models/{model}/train.json"), model=TOY_SR),
    output:
        directory(results(f"toy/ship/v{DATA_VERSION}")),
    params:
        recipe=config["toy"],
        widths=[cfg.model_entry(config, m)["toy"]["width"] for m in TOY_T2I],
        student_widths=[cfg.model_entry(config, m)["toy"]["width"] for m in TOY_STUDENTS],
        sr_widths=[cfg.model_entry(config, m)["toy"]["width"] for m in TOY_SR],
        repository=str(REPOSITORY),
    log:
        results("logs/ship_toy.log"),
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/ship_toy.py"
