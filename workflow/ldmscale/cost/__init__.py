"""Cost of sampling: FLOPs counted on the meta device (`flops`), latency timed on the real one (`latency`), and
the per-model cost table (`table`). Device names, peaks and drivers live in `ldmscale.devices`; re-exported here.
"""

from ..devices import PEAK_TFLOPS_16BIT, device_info, device_name, nvidia_driver, peak_tflops
from ..image_cost import normalised_cost, sampling_flops, sampling_latency_ms
from .flops import _counted, count_flops, denoiser_inputs, denoiser_params, flop_counter, geometry, unet_inputs
from .latency import apply_switches, end_to_end, profile_latency, time_ms
from .table import cost_table, markdown

__all__ = [
    "PEAK_TFLOPS_16BIT",
    "_counted",
    "apply_switches",
    "cost_table",
    "count_flops",
    "denoiser_inputs",
    "denoiser_params",
    "device_info",
    "device_name",
    "end_to_end",
    "flop_counter",
    "geometry",
    "markdown",
    "normalised_cost",
    "nvidia_driver",
    "peak_tflops",
    "profile_latency",
    "sampling_flops",
    "sampling_latency_ms",
    "time_ms",
    "unet_inputs",
]
