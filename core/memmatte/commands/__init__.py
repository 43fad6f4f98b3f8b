"""The commands beside the layers: what ``memmatte eval``, ``demo`` and ``queue`` run (the
``memmatte`` entry point itself is ``memmatte.cli``)."""
