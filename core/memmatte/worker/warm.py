"""What a serving worker keeps loaded between requests: backends (weights on a device) and
renderers (an open source, colour processors and an engine whose memory entries let the
next frame of a shot cost one frame's compute)."""
from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from ..protocol.settings import RenderSettings

# Settings a renderer can take from one request to the next without setting up again.
PER_REQUEST = ("frames", "resume", "preview", "output", "alpha_out")


def _key(settings: RenderSettings, keys: tuple[str, ...]) -> str:
    return json.dumps({k: getattr(settings, k) for k in keys}, sort_keys=True)


class Warm:
    def __init__(self, renderers: int = 2) -> None:
        self._backends: dict[str, Any] = {}
        self._renderers: OrderedDict[str, Any] = OrderedDict()
        self._max = renderers

    def backend(self, s: RenderSettings, setup: Any) -> Any:
        key = _key(s, ("backend", "weights", "device", "memory"))
        if key not in self._backends:
            from ..engine.factory import make_backend

            setup("runtime", f"loading the {s.backend} runtime and the weights")
            self._backends[key] = make_backend(s.backend, s.weights, s.device, s.memory)
        return self._backends[key]

    def renderer(self, s: RenderSettings, setup: Any) -> Any:
        from ..pipeline import Renderer

        key = _key(s, tuple(k for k in s.to_dict() if k not in PER_REQUEST))
        renderer = self._renderers.get(key)
        if renderer is None:
            renderer = Renderer(s, setup, self.backend)
            self._renderers[key] = renderer
            while len(self._renderers) > self._max:
                self._renderers.popitem(last=False)[1].close()
        else:
            renderer.retarget(s)
        self._renderers.move_to_end(key)
        return renderer

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()
