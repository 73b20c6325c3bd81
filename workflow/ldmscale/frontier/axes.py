"""What names a configuration and what it can cost: the frontier's configuration keys and cost axes.

Plain data: it imports nothing.
"""

CONFIG_KEYS = ["task", "model", "sampler", "steps", "guidance"]
COST_AXES = {
    "normalised_cost": "normalised sampling cost (UNet FLOPs / reference × steps)",
    "gflops_per_image": "GFLOPs per image (text encoder + UNet calls + VAE decode)",
    "latency_ms_per_image": "ms per image (profiled components)",
}
