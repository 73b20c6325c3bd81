"""The cost table of a sweep: one row per model (params, GFLOPs per component call, relative UNet cost)."""

from __future__ import annotations

from ..image_cost import devices_note, normalised_cost


def cost_table(flops: dict[str, dict], latency: dict[str, dict], sources: dict[str, str], reference_model: str | None):
    """Return one row per model: params, GFLOPs per call of each component, UNet cost relative to the reference's.

    `latency` may be empty (not profiled); the reference defaults to the model with the most UNet FLOPs.
    """
    import polars as pl

    if reference_model is None:
        reference_model = max(flops, key=lambda m: flops[m]["unet"]["flops_b1"])
    reference = flops[reference_model]["unet"]["flops_b1"]
    rows = []
    for name, f in flops.items():
        row = {
            "model": name,
            "source": sources[name],
            "resolution": f["resolution"],
            "unet_params": f["unet"]["params"],
            "unet_gflops": f["unet"]["flops_b1"] / 1e9,
            "unet_relative_cost": normalised_cost(f["unet"]["flops_b1"], reference, 1),
            "text_encoder_gflops": f["text_encoder"]["flops_b1"] / 1e9,
            "vae_decoder_gflops": f["vae_decoder"]["flops_b1"] / 1e9,
        }
        if name in latency:
            lat = latency[name]
            row |= {
                "unet_ms_per_image": lat["median_ms"]["unet"] / lat["batch"],
                "latency_batch": lat["batch"],
                "latency_device": lat["device"],
            }
        rows.append(row)
    return pl.DataFrame(rows).sort("unet_params").with_columns(pl.lit(reference_model).alias("reference_model"))


def markdown(table) -> str:
    """Return the cost table as a Markdown table for people: params in millions, FLOPs in GFLOPs."""

    def cell(column: str, value) -> str:
        if column == "unet_params":
            return f"{value / 1e6:,.1f} M"
        if column == "unet_relative_cost":
            return f"{value:.3f}"
        return f"{value:,.1f}" if isinstance(value, float) else str(value)

    header = [c for c in table.columns if c != "reference_model"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c, row[c]) for c in header) + " |" for row in table.iter_rows(named=True)]
    reference = table["reference_model"][0]
    note = f"\n\nUNet cost relative to {reference} (batch 1, per call); FLOPs = 2 × MACs.\n"
    return "\n".join(lines) + note + devices_note(table)
