"""Metrics of each output against its own ground truth (super-resolution): PSNR, SSIM and LPIPS per image.

All three are torchmetrics' own functions; what is added here is per-image values (the frontier pairs
configurations image by image) and LPIPS weights from one local safetensors file, never a download or a pickle.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from . import files, integrity

LPIPS_NETS = ("alex", "vgg", "squeeze")
# torchvision's ImageNet weights behind each LPIPS backbone (torchmetrics' _get_tv_model_features)
LPIPS_BACKBONE_URLS = {
    "alex": "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    "vgg": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "squeeze": "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth",
}


def _float(images: np.ndarray, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Return uint8 NHWC images as float NCHW in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).to(dtype) / 255


def _check(outputs: np.ndarray, truths: np.ndarray) -> None:
    if outputs.shape != truths.shape:
        raise ValueError(f"outputs {outputs.shape} and ground truths {truths.shape} differ in shape")


def psnr(outputs: np.ndarray, truths: np.ndarray) -> np.ndarray:
    """Return the PSNR in dB of each uint8 NHWC output against its ground truth (data range 255; inf if equal)."""
    from torchmetrics.functional.image import peak_signal_noise_ratio

    _check(outputs, truths)
    x, y = _float(outputs), _float(truths)
    return peak_signal_noise_ratio(x, y, data_range=1.0, reduction="none", dim=(1, 2, 3)).numpy()


def ssim(outputs: np.ndarray, truths: np.ndarray) -> np.ndarray:
    """Return the SSIM of each uint8 NHWC output against its ground truth (torchmetrics: Gaussian 11×11, σ 1.5).

    In float32, torchmetrics' own image dtype: its 11×11 convolutions run 17× faster on one CPU thread than in
    float64, and the two differ by about 2e-7.
    """
    from torchmetrics.functional.image import structural_similarity_index_measure

    _check(outputs, truths)
    x, y = _float(outputs, torch.float32), _float(truths, torch.float32)
    return structural_similarity_index_measure(x, y, data_range=1.0, reduction="none").double().numpy()


def lpips_network(net: str = "alex"):
    """Return torchmetrics' LPIPS module for backbone `net`, untrained (its weights come from `load_lpips`)."""
    from torchmetrics.functional.image.lpips import _NoTrainLpips

    if net not in LPIPS_NETS:
        raise ValueError(f"metrics.lpips.net: unknown {net!r}; valid: {', '.join(LPIPS_NETS)}")
    return _NoTrainLpips(pretrained=False, net=net, pnet_rand=True)


def load_lpips(weights: str | Path, net: str = "alex"):
    """Return torchmetrics' LPIPS module with backbone and linear layers from a safetensors file (every key)."""
    from safetensors.torch import load_model

    module = lpips_network(net)
    try:  # load_model: the linear layers are shared between lin<k> and lins.<k>, saved once
        missing, unexpected = load_model(module, str(weights), strict=False)
    except RuntimeError as err:  # a tensor of the wrong shape
        raise ValueError(f"{weights}: not LPIPS-{net} weights ({err})") from None
    if missing or unexpected:
        raise ValueError(
            f"{weights}: not LPIPS-{net} weights (missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})"
        )
    return module.eval()


@torch.no_grad()
def lpips(module, outputs: np.ndarray, truths: np.ndarray, batch: int = 64) -> np.ndarray:
    """Return the LPIPS distance of each uint8 NHWC output to its ground truth (torchmetrics' update, per image)."""
    from torchmetrics.functional.image.lpips import _lpips_update

    _check(outputs, truths)
    device, out = next(module.parameters()).device, []
    for i in range(0, len(outputs), batch):
        x, y = (_float(a[i : i + batch]).float().to(device) for a in (outputs, truths))
        out.append(_lpips_update(x, y, module, normalize=True).reshape(-1).double().cpu().numpy())
    return np.concatenate(out)


def convert_lpips(backbone_pth: str | Path, out: str | Path, net: str = "alex") -> str:
    """Write LPIPS-`net` weights as one safetensors file: the backbone from torchvision's ImageNet .pth, the linear
    layers from torchmetrics' package (the PerceptualSimilarity v0.1 weights). Both are read with
    torch.load(weights_only=True), which refuses anything but tensors. Return the output's SHA-256."""
    from safetensors.torch import save_model
    from torchmetrics.functional.image import lpips as tm_lpips

    module = lpips_network(net)
    linear = Path(tm_lpips.__file__).parent / "lpips_models" / f"{net}.pth"
    module.load_state_dict(torch.load(linear, map_location="cpu", weights_only=True), strict=False)
    backbone = torch.load(backbone_pth, map_location="cpu", weights_only=True)
    for key, tensor in module.net.state_dict().items():
        source = "features." + key.split(".", 1)[1]  # slice<j>.<index of torchvision's features>.<param>
        if source not in backbone:
            raise ValueError(f"{backbone_pth}: no {source}; is it torchvision's {net} weights?")
        tensor.copy_(backbone[source])
    with files.atomic_path(out) as tmp:
        save_model(module, str(tmp))
    load_lpips(out, net)
    return integrity.sha256(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ldmscale.paired",
        description="Write LPIPS weights as safetensors from torchvision's backbone .pth and torchmetrics' linear layers.",
    )
    parser.add_argument("backbone", help=f"torchvision's weights, e.g. {LPIPS_BACKBONE_URLS['alex']}")
    parser.add_argument("out", help="the .safetensors file to write (config: metrics.lpips.weights)")
    parser.add_argument("--net", default="alex", choices=LPIPS_NETS)
    args = parser.parse_args(argv)
    print(f"{convert_lpips(args.backbone, args.out, args.net)}  {args.out}")


if __name__ == "__main__":
    main()
