# Laws of quality in model size and sampling steps, after the summary: fitted, validated by leaving each size out,
# and used: the inference-optimal size per budget, the sizes nobody trained (predict: true), the size to deploy.


rule scaling:
    input:
        summary=results("summary.parquet"),
        per_image=results("per_image.parquet"),
        flops=expand(FLOPS, model=PREDICTED),
        latency=expand(LATENCY, model=PREDICTED, batch=config["cost"]["latency_batch"]),
    output:
        scaling=report(results("frontier/scaling.csv"), caption="../report/scaling.rst", category="Scaling law"),
        validation=report(
            results("frontier/scaling_validation.csv"), caption="../report/scaling.rst", category="Scaling law"
        ),
        optimal=report(results("frontier/scaling_optimal.csv"), caption="../report/scaling.rst", category="Scaling law"),
        predicted_scores=results("frontier/predicted_scores.csv"),
        predicted=report(results("frontier/predicted.csv"), caption="../report/scaling.rst", category="Scaling law"),
        deployment=report(
            results("frontier/scaling_deployment.csv"), caption="../report/scaling.rst", category="Scaling law"
        ),
        curves=results("frontier/scaling_curves.parquet"),
        readme=results("frontier/scaling.md"),
    params:
        metrics=METRICS_USED,
        reps=config["scaling"]["reps"],
        forms=config["scaling"]["forms"],
        targets=config["scaling"]["target"],
        served=config["scaling"]["images_served"],
        budgets=config["frontier"]["budgets"],
        buckets=config["frontier"]["buckets"],
    log:
        results("logs/scaling.log"),
    benchmark:
        results("benchmarks/scaling.tsv")
    conda:
        "../../envs/ldmscale.yaml"
    script:
        "../scripts/scaling.py"
