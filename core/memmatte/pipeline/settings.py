"""The render settings live in ``memmatte.protocol`` (hosts validate them without the runtime);
this name stays for the pipeline's callers."""
from ..protocol.errors import SettingsError
from ..protocol.settings import RenderSettings

__all__ = ["RenderSettings", "SettingsError"]
