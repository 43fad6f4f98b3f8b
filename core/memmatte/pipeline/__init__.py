"""From plate to matte: sources, prefetching, rendering, writing."""
from .render import Progress, Renderer, RenderResult, preroll_plan, render
from .settings import RenderSettings, SettingsError

__all__ = ["Progress", "RenderResult", "RenderSettings", "Renderer", "SettingsError",
           "preroll_plan", "render"]
