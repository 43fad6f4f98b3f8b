"""A network with a decoder window for tests: another network's weights under the same config
with ``decoder_memory="window"``, and random GRU state weights strong enough that the states
rebuilt over t-2 and t-1 change frame t clearly (the conversion's come from a user's RVM file)."""
from __future__ import annotations

import copy
from dataclasses import replace

import torch

from memmatte.model import MemMatte
from memmatte.model.decoder import STATE_PARTS


def windowed_copy(model: MemMatte, std: float = 0.1, seed: int = 1) -> MemMatte:
    if model.decoder.recurrent:  # already a window (the shipped weights): its own states
        return copy.deepcopy(model).eval()
    out = MemMatte(replace(model.config, decoder_memory="window")).eval()
    missing = set(out.load_state_dict(model.state_dict(), strict=False).missing_keys)
    assert missing and all(k.rsplit(".", 2)[-2] in STATE_PARTS for k in missing), missing
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in out.named_parameters():
            if name in missing:
                p.normal_(0, std)
    return out
