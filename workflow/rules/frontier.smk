# All costs and scores in one table, then the frontier: tables, the plain-words summary, charts and sample grids.


rule aggregate:
    input:
        unpack(aggregate_inputs),
    output:
        parquet=results("summary.parquet"),
        csv=results("summary.csv"),
        per_image=results("per_image.parquet"),
    params:
        reference_model=config["cost"]["reference_model"],
        trained_models=TOY_MODELS,
        teachers=cfg.teachers(config),
    log:
        results("logs/aggregate.log"),
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/aggregate.py"


rule frontier:
    input:
        unpack(frontier_inputs),
    output:
        tables=report(
            expand(results("frontier/{table}.csv"), table=paths.TABLES),
            caption="../report/tables.rst",
            category="Tables",
        ),
        parquet=expand(results("frontier/{table}.parquet"), table=paths.TABLES),
        distillation=multiext(results(f"frontier/{paths.DISTILLATION}"), ".csv", ".parquet"),
        readme=report(results("frontier/README.md"), caption="../report/summary.rst", category="Summary"),
    params:
        metrics=METRICS_USED,
        budgets=config["frontier"]["budgets"],
        buckets=config["frontier"]["buckets"],
        bootstrap=config["frontier"]["bootstrap"],
        tolerance=config["frontier"]["tolerance"] or (REFINE or {}).get("tolerance", {}),  # a refined sweep's own
        configfiles=[str(f) for f in workflow.configfiles],  # the config's hash and the commit: read by the job
    log:
        results("logs/frontier.log"),
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/frontier.py"


rule charts:
    input:
        best_guidance=results("frontier/best_guidance.parquet"),
        pareto=results("frontier/pareto.parquet"),
        best_per_cost=results("frontier/best_per_cost.parquet"),
        crossovers=results("frontier/crossovers.parquet"),
        scaling_curves=results("frontier/scaling_curves.parquet"),
        scaling_optimal=results("frontier/scaling_optimal.csv"),
        predicted=results("frontier/predicted_scores.csv"),
    output:
        html=expand(results("frontier/{{metric}}__{view}.html"), view=CHART_VIEWS),
        png=chart_pngs(),
        svg=expand(results("frontier/{{metric}}__{view}.svg"), view=CHART_VIEWS),
    params:
        views=CHART_VIEWS,
    log:
        results("logs/charts/{metric}.log"),
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/charts.py"


rule sample_grid:
    input:
        shards=grid_shards,
        prompts=PROMPTS,
    output:
        report(
            results("frontier/grids/{task}/{sampler}_g{guidance}.png"),
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
        results("logs/sample_grid/{task}/{sampler}_g{guidance}.log"),
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/sample_grid.py"
