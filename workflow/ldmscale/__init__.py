"""ldmscale: how the size of a latent diffusion model trades against its sampling cost."""

__version__ = "0.1.0"
