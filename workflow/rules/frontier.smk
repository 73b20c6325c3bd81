# All costs and scores in one table, then the frontier: tables and charts.


rule aggregate:
    input:
        unpack(aggregate_inputs),
    output:
        parquet="results/summary.parquet",
        csv="results/summary.csv",
    params:
        reference_model=config["cost"]["reference_model"],
        trained_models=TOY_MODELS,
    log:
        "logs/aggregate.log",
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/aggregate.py"


rule frontier:
    input:
        "results/summary.parquet",
    output:
        plots=frontier_plots(),
        best="results/frontier/best_per_budget.csv",
        pareto="results/frontier/pareto.csv",
        crossovers="results/frontier/crossovers.csv",
    params:
        buckets=config["frontier"]["buckets"],
    log:
        "logs/frontier.log",
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/frontier.py"
