"""Turn a GPU check's results into the tables of docs/gpu.md and the README, in place between their markers.

    python workflow/benchmarks/gpu/tables.py gpu-check                    # writes README.md and docs/gpu.md
    python workflow/benchmarks/gpu/tables.py gpu-check --print            # only prints the tables

Every figure comes from the results directory (env.json, steps.tsv, latency.json, overhead.json, pytest.xml);
the tables are labelled with the device, driver, CUDA and versions it recorded, and say what was skipped and why.
"""

from __future__ import annotations

import argparse
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BEGIN, END = "<!-- gpu-check:begin -->", "<!-- gpu-check:end -->"
GIB = 2**30


def _read(results: Path, name: str):
    path = results / name
    return json.loads(path.read_text()) if path.is_file() else None


def _fmt(value, spec: str, missing: str = "–") -> str:
    return missing if value is None else format(value, spec)


def label(env: dict) -> str:
    """Return the line that says what the results were measured on."""
    device, versions = env["device"], env["versions"]
    parts = [f"**{device['name']}**"]
    if device.get("driver"):
        parts.append(f"driver {device['driver']}")
    if device.get("cuda_runtime"):
        parts.append(f"CUDA {device['cuda_runtime']}")
    parts += [f"{k} {v}" for k, v in versions.items() if v and k in ("torch", "diffusers", "transformers")]
    parts.append(f"Python {env['python']}")
    return f"Measured on {', '.join(parts)}, on {env['date'][:10]}, by `make gpu-check`."


def family_table(latency: dict) -> list[str]:
    """One row per width and batch: median ms per UNet call, spread, peak memory, TFLOP/s, MFU."""
    rows = ["| c | UNet params | batch | UNet ms per call (median) | IQR ms | ms per image | peak memory | TFLOP/s | MFU |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for p in latency["profiles"]:
        if p["variant"] != "sdpa":
            continue
        ms, memory, mfu = p["median_ms"]["unet"], p["peak_memory_bytes"]["unet"], p["mfu"]["unet"]
        rows.append(
            f"| {p['width']} | {p['unet_params'] / 1e6:,.0f} M | {p['batch']} | {ms:,.2f} | {p['iqr_ms']['unet']:.2f} "
            f"| {ms / p['batch']:,.2f} | {_fmt(memory and memory / GIB, '.1f')} GiB | "
            f"{p['achieved_tflops']['unet']:,.1f} | {_fmt(mfu, '.1%')} |"
        )
    return rows


def switches_table(latency: dict) -> list[str]:
    """The switches at one width and batch: UNet and VAE decode ms, first-call (compile) time, MFU."""
    width = latency["settings"]["variant_width"]
    batch = latency["settings"]["variant_batch"]
    rows = ["| switches | UNet ms per call | first UNet call | VAE decode ms | first VAE call | MFU |",
            "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for p in latency["profiles"]:
        if p["width"] != width or p["batch"] != batch:
            continue
        first, median = p["first_call_ms"], p["median_ms"]
        rows.append(
            f"| {p['variant']} | {median['unet']:,.2f} | {first['unet'] / 1e3:,.1f} s | {median['vae_decoder']:,.1f} "
            f"| {first['vae_decoder'] / 1e3:,.1f} s | {_fmt(p['mfu']['unet'], '.1%')} |"
        )
    return [f"At c = {width}, batch {batch} (the classifier-free guidance batch is twice that):", "", *rows]


def overhead_line(overhead: dict) -> str:
    s = overhead["settings"]
    return (
        f"Overhead, ldmscale's generate against a plain diffusers loop ({s['model']}, random weights, "
        f"{s['resolution']} px, {overhead['dtype']}, batch {s['batch']}, {s['steps']} {s['sampler']} steps, "
        f"guidance {s['guidance']:g}, {s['images']} images, {s['repeats']} alternating rounds): ldmscale / plain = "
        f"**{overhead['ratio_ldmscale_over_plain']:.3f}** (medians {overhead['median_s']['ldmscale']:.2f} s and "
        f"{overhead['median_s']['plain']:.2f} s)."
    )


def steps_line(results: Path) -> str:
    path = results / "steps.tsv"
    if not path.is_file():
        return "steps: not recorded"
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line]
    parts = [f"{name} {'ok' if status == '0' else f'FAILED (exit {status})'} in {seconds} s"
             for name, status, seconds, _ in rows]  # fmt: skip
    junit = results / "pytest.xml"
    if junit.is_file():
        suite = ET.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        a = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
        parts.append(f"GPU tests: {a['tests'] - a['failures'] - a['errors'] - a['skipped']} passed of {a['tests']}, "
                     f"{a['skipped']} skipped, {a['failures'] + a['errors']} failed")  # fmt: skip
    return "Steps: " + "; ".join(parts) + "."


def tables(results: Path, brief: bool = False) -> str:
    """Return the Markdown block for docs/gpu.md, or the README's shorter one with `brief`."""
    env, latency, overhead = (_read(results, n) for n in ("env.json", "latency.json", "overhead.json"))
    if env is None:
        raise SystemExit(f"{results}/env.json is missing: is {results} a GPU check's results directory?")
    lines = [label(env), ""]
    if latency:
        lines += family_table(latency) + [""]
        skipped = latency["skipped"]
        if skipped:
            lines += ["Not measured: " + "; ".join(f"c = {s['width']} batch {s['batch']} {s['variant']} ({s['why']})"
                                                  for s in skipped) + ".", ""]  # fmt: skip
        if not brief:
            lines += switches_table(latency) + [""]
    if overhead:
        lines += [overhead_line(overhead), ""]
    if not brief:
        lines += [steps_line(results), ""]
    return "\n".join(lines).rstrip() + "\n"


def replace_block(path: Path, block: str) -> None:
    """Replace the text between the markers in `path` with `block`."""
    text = path.read_text()
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path} has no {BEGIN} … {END} block to fill")
    path.write_text(pattern.sub(lambda _: f"{BEGIN}\n{block}{END}", text, count=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "gpu.md")
    parser.add_argument("--print", action="store_true", help="print the tables; write nothing")
    args = parser.parse_args()
    full, brief = tables(args.results), tables(args.results, brief=True)
    if args.print:
        print(full)
        return
    replace_block(args.docs, full)
    replace_block(args.readme, brief)
    print(f"wrote the GPU tables into {args.docs} and {args.readme}")


if __name__ == "__main__":
    main()
