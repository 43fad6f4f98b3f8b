"""From plate to matte: sources, prefetching, rendering, writing."""
from .render import Progress, Renderer, RenderResult, preroll_plan, render
from .settings import RenderSettings

__all__ = ["Progress", "RenderResult", "RenderSettings", "Renderer", "preroll_plan", "render"]
