"""Run by tests/test_nuke_panel.py in the PySide2 5.13 venv: import the shim and build the
panel offscreen over the fake nuke, print what it shows as JSON."""
from __future__ import annotations

import json
import os
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(root, "tests", "fake_nuke"), os.path.join(root, "plugin", "nuke"),
                os.path.join(root, "core")]

import nuke  # noqa: E402
from nuke import fake  # noqa: E402

from memmatte_nuke import jobs, node, qt  # noqa: E402

app = qt.QtWidgets.QApplication([])
fake.new_script(spaces=["ACEScg", "sRGB"])
a = node.create(selected=False)
b = node.create(selected=False)


class Stand:
    progress = jobs.Progress(state="running", done=3, total=4)


jobs.JOBS[b.fullName()] = Stand()  # type: ignore[assignment]
from memmatte_nuke.panel import JobsPanel  # noqa: E402

panel = JobsPanel()
panel.table.selectRow(1)
started = []
node.process = lambda n: started.append(n.fullName())  # type: ignore[assignment]
panel.start_button.click()
flag = qt.flags(qt.QtCore.Qt.ItemFlag.ItemIsSelectable, qt.QtCore.Qt.ItemFlag.ItemIsEnabled)
print(json.dumps({"binding": qt.BINDING, "qt": qt.QtCore.qVersion(),
                  "rows": [panel.row_state(r) for r in range(panel.table.rowCount())],
                  "started": started, "flags": int(getattr(flag, "value", flag)),
                  "nuke": nuke.__name__}))
