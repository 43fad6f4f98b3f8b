"""The MemoryMatte jobs panel: the script's MemoryMatte nodes with state and progress, and
Start / Cancel for the selected ones. It runs in the main thread (a QTimer refreshes it from
the jobs' snapshots), so reading the nodes here is safe."""
from __future__ import annotations

from typing import Any

from . import jobs, node
from .qt import QtCore, QtWidgets, flags

COLUMNS = ("node", "state", "progress", "message")
REFRESH_MS = 300


class JobsPanel(QtWidgets.QWidget):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("memmatteJobsPanel")
        self.setWindowTitle("MemoryMatte jobs")
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.start_button = QtWidgets.QPushButton("Start", self)
        self.cancel_button = QtWidgets.QPushButton("Cancel", self)
        self.refresh_button = QtWidgets.QPushButton("Refresh", self)
        self.start_button.clicked.connect(self.start_selected)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.refresh_button.clicked.connect(self.refresh)
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.start_button, self.cancel_button, self.refresh_button):
            buttons.addWidget(b)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.names: list[str] = []
        self.refresh()

    # -- what it shows ---------------------------------------------------------------------
    def refresh(self) -> None:
        nodes = node.all_nodes()
        names = [n.fullName() for n in nodes]
        if names != self.names:
            self.table.setRowCount(len(names))
            for row in range(len(names)):
                bar = QtWidgets.QProgressBar(self.table)
                bar.setRange(0, 100)
                self.table.setCellWidget(row, 2, bar)
            self.names = names
        readonly = flags(QtCore.Qt.ItemFlag.ItemIsSelectable, QtCore.Qt.ItemFlag.ItemIsEnabled)
        for row, (name, n) in enumerate(zip(names, nodes, strict=True)):
            job = jobs.JOBS.get(name)
            progress = job.progress if job is not None else None
            state = progress.state if progress is not None else "idle"
            message = progress.line() if progress is not None else str(n["status"].value())
            for col, text in ((0, name), (1, state), (3, message)):
                item = self.table.item(row, col)
                if item is None:
                    item = QtWidgets.QTableWidgetItem()
                    item.setFlags(readonly)
                    self.table.setItem(row, col, item)
                if item.text() != text:
                    item.setText(text)
            cell = self.table.cellWidget(row, 2)
            if isinstance(cell, QtWidgets.QProgressBar):
                cell.setValue(int(100 * progress.fraction) if progress is not None else 0)

    def row_state(self, row: int) -> tuple[str, str, int, str]:
        """(node, state, percent, message) of a row, as shown."""
        def text(col: int) -> str:
            item = self.table.item(row, col)
            return item.text() if item is not None else ""
        bar = self.table.cellWidget(row, 2)
        percent = bar.value() if isinstance(bar, QtWidgets.QProgressBar) else -1
        return text(0), text(1), percent, text(3)

    # -- what it does ----------------------------------------------------------------------
    def selected_names(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.names[r] for r in rows if r < len(self.names)]

    def _nodes(self) -> list[Any]:
        import nuke

        return [n for n in (nuke.toNode(name) for name in self.selected_names())
                if n is not None]

    def start_selected(self) -> None:
        for n in self._nodes():
            node.process(n)
        self.refresh()

    def cancel_selected(self) -> None:
        for n in self._nodes():
            node.cancel(n)
        self.refresh()


_PANEL: list[JobsPanel] = []


def show_panel() -> JobsPanel:
    """A floating panel (Window > MemoryMatte jobs); one per session."""
    if not _PANEL:
        _PANEL.append(JobsPanel())
    _PANEL[0].show()
    _PANEL[0].raise_()
    return _PANEL[0]
