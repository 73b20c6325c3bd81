# Laws of quality in model size and sampling steps, after the summary: fitted, validated by leaving each size out.


rule scaling:
    input:
        summary="results/summary.parquet",
        per_image="results/per_image.parquet",
    output:
        scaling=report("results/frontier/scaling.csv", caption="../report/scaling.rst", category="Scaling law"),
        validation=report(
            "results/frontier/scaling_validation.csv", caption="../report/scaling.rst", category="Scaling law"
        ),
        optimal=report("results/frontier/scaling_optimal.csv", caption="../report/scaling.rst", category="Scaling law"),
        curves="results/frontier/scaling_curves.parquet",
        readme="results/frontier/scaling.md",
    params:
        metrics=METRICS_USED,
        reps=config["scaling"]["reps"],
        forms=config["scaling"]["forms"],
        budgets=config["frontier"]["budgets"].get("normalised_cost"),
        buckets=config["frontier"]["buckets"],
    log:
        "logs/scaling.log",
    benchmark:
        "benchmarks/scaling.tsv"
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/scaling.py"
