# All costs and scores in one table, then the frontier: tables, the plain-words summary, charts and sample grids.


rule aggregate:
    input:
        unpack(aggregate_inputs),
    output:
        parquet="results/summary.parquet",
        csv="results/summary.csv",
        per_image="results/per_image.parquet",
    params:
        reference_model=config["cost"]["reference_model"],
        trained_models=TOY_MODELS,
        teachers=cfg.teachers(config),
    log:
        "logs/aggregate.log",
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/aggregate.py"


rule frontier:
    input:
        summary="results/summary.parquet",
        per_image="results/per_image.parquet",
    output:
        tables=report(
            expand("results/frontier/{table}.csv", table=paths.TABLES),
            caption="../report/tables.rst",
            category="Tables",
        ),
        parquet=expand("results/frontier/{table}.parquet", table=paths.TABLES),
        distillation=multiext(f"results/frontier/{paths.DISTILLATION}", ".csv", ".parquet"),
        readme=report("results/frontier/README.md", caption="../report/summary.rst", category="Summary"),
    params:
        metrics=METRICS_USED,
        budgets=config["frontier"]["budgets"],
        buckets=config["frontier"]["buckets"],
        bootstrap=config["frontier"]["bootstrap"],
    log:
        "logs/frontier.log",
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/frontier.py"


rule chart_cost:
    input:
        best_guidance="results/frontier/best_guidance.parquet",
        pareto="results/frontier/pareto.parquet",
    output:
        html="results/frontier/{metric}__{cost}.html",
        png=report(
            "results/frontier/{metric}__{cost}.png",
            caption="../report/quality_vs_cost.rst",
            category="Quality vs cost",
            subcategory="{metric}",
            labels={"metric": "{metric}", "cost axis": "{cost}"},
        ),
        svg="results/frontier/{metric}__{cost}.svg",
    params:
        kind="cost",
    log:
        "logs/chart/{metric}__{cost}.log",
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/chart.py"


rule chart_winners:
    input:
        best_per_cost="results/frontier/best_per_cost.parquet",
        crossovers="results/frontier/crossovers.parquet",
    output:
        html="results/frontier/{metric}__{cost}__winners.html",
        png=report(
            "results/frontier/{metric}__{cost}__winners.png",
            caption="../report/winners.rst",
            category="Frontier",
            subcategory="{metric}",
            labels={"metric": "{metric}", "cost axis": "{cost}"},
        ),
        svg="results/frontier/{metric}__{cost}__winners.svg",
    params:
        kind="winners",
    log:
        "logs/chart/{metric}__{cost}__winners.log",
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/chart.py"


rule chart_steps:
    input:
        best_guidance="results/frontier/best_guidance.parquet",
    output:
        html="results/frontier/{metric}__steps.html",
        png=report(
            "results/frontier/{metric}__steps.png",
            caption="../report/quality_vs_steps.rst",
            category="Quality vs steps",
            labels={"metric": "{metric}"},
        ),
        svg="results/frontier/{metric}__steps.svg",
    params:
        kind="steps",
    log:
        "logs/chart/{metric}__steps.log",
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/chart.py"


rule chart_train:
    input:
        best_guidance="results/frontier/best_guidance.parquet",
    output:
        html="results/frontier/{metric}__train_flops.html",
        png=report(
            "results/frontier/{metric}__train_flops.png",
            caption="../report/quality_vs_training.rst",
            category="Quality vs training compute",
            labels={"metric": "{metric}"},
        ),
        svg="results/frontier/{metric}__train_flops.svg",
    params:
        kind="train",
    log:
        "logs/chart/{metric}__train_flops.log",
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/chart.py"


rule sample_grid:
    input:
        shards=grid_shards,
        prompts=PROMPTS,
    output:
        report(
            "results/frontier/grids/{task}/{sampler}_g{guidance}.png",
            caption="../report/sample_grid.rst",
            category="Samples",
            labels={"task": "{task}", "sampler": "{sampler}", "guidance": "{guidance}"},
        ),
    params:
        models=lambda wc: grid_rows(wc)["models"],
        steps=lambda wc: grid_rows(wc)["steps"],
        images=config["frontier"]["grid_images"],
        cell_px=config["frontier"]["grid_cell_px"],
    log:
        "logs/sample_grid/{task}/{sampler}_g{guidance}.log",
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/sample_grid.py"
