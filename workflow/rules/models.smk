# The toy family's shared parts, its members' training, and every model's pipeline directory.


rule toy_text_encoder:
    output:
        directory(f"{TOY}/text"),
    params:
        seed=config["toy"]["seed"],
        recipe=config["toy"]["text_encoder"],
    log:
        "logs/toy_text_encoder.log",
    benchmark:
        "benchmarks/toy_text_encoder.tsv"
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/toy_text_encoder.py"


rule toy_autoencoder:
    output:
        directory(f"{TOY}/vae"),
    params:
        seed=config["toy"]["seed"],
        image_size=config["toy"]["image_size"],
        recipe=config["toy"]["autoencoder"],
    threads: 2
    log:
        "logs/toy_autoencoder.log",
    benchmark:
        "benchmarks/toy_autoencoder.tsv"
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/toy_autoencoder.py"


rule toy_scorer:
    output:
        directory(f"{TOY}/scorer"),
    params:
        seed=config["toy"]["seed"],
        image_size=config["toy"]["image_size"],
        recipe=config["toy"]["scorer"],
    log:
        "logs/toy_scorer.log",
    benchmark:
        "benchmarks/toy_scorer.tsv"
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/toy_scorer.py"


rule train_unet:
    input:
        vae=f"{TOY}/vae",
        text=f"{TOY}/text",
    output:
        unet=directory("results/models/{model}/unet"),
        record="results/models/{model}/train.json",
    params:
        width=lambda wc: model(wc)["toy"]["width"],
        recipe={**config["toy"]["unet"], "seed": config["toy"]["seed"]},
    log:
        "logs/train_unet/{model}.log",
    benchmark:
        "benchmarks/train_unet/{model}.tsv"
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/train_unet.py"


rule prepare_model:
    input:
        unpack(model_sources),
    output:
        directory("resources/models/{model}"),
    params:
        source=lambda wc: cfg.source(model(wc)),
    log:
        "logs/prepare_model/{model}.log",
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/prepare_model.py"
