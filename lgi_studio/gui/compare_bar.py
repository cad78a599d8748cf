"""The bar above the pictures: the view (side by side, split, heatmap), the two sides of the split, the
heatmap's colour scale, the ellipse overlay and the render mode A/B."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QWidget

from lgi_studio.core.scheme_names import RENDER_MODES

from .session import Result
from .views import HeatmapScale, ImagePair

COMPARE_LABEL_CHARS = 12
"""The compare lists show this much of a result's name (the full name is in the open list)."""


class CompareBar(QWidget):
    """The widgets only; the window connects them to the session and the views."""

    def __init__(self) -> None:
        super().__init__()
        self.view_mode = QComboBox()
        for key, text in ImagePair.MODES.items():
            self.view_mode.addItem(text, key)
        self.view_mode.setToolTip("Side by side, one view split between two pictures, or where the errors are")
        self.compare_left, self.compare_right = QComboBox(), QComboBox()
        self.compare_left.setToolTip("Left of the divider: the original or a kept result of this picture")
        self.compare_right.setToolTip("Right of the divider: the current result or a kept one")
        for box in (self.compare_left, self.compare_right):
            box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(COMPARE_LABEL_CHARS)
        self.divider = QLabel("|")
        self.heatmap_scale = HeatmapScale()
        self.ellipses = QCheckBox("Ellipses")
        self.ellipses.setToolTip(
            "Draw each Gaussian as an ellipse at one standard deviation, coloured by its codebook entry"
        )
        self.ab_mode = QComboBox()
        self.ab_mode.addItems(list(RENDER_MODES))
        self.ab_mode.setToolTip("Render the same Gaussians by accumulated summation or alpha compositing")
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 0, 4, 0)
        for widget in (QLabel("View"), self.view_mode, self.compare_left, self.divider, self.compare_right):
            row.addWidget(widget)
        row.addWidget(self.heatmap_scale)
        row.addStretch(1)
        row.addWidget(self.ellipses)
        row.addWidget(QLabel("Render as"))
        row.addWidget(self.ab_mode)
        self.show_tools()

    def show_tools(self) -> None:
        """The split's lists only in the split view, the colour scale only with the heatmap."""
        mode = self.view_mode.currentData()
        for widget in (self.compare_left, self.divider, self.compare_right):
            widget.setVisible(mode == "split")
        self.heatmap_scale.setVisible(mode == "error")

    def fill(self, kept: list[Result], chosen: tuple[str | None, str | None]) -> None:
        """The kept results in both lists, each keeping its choice while it is still kept."""
        for box, first, key in (
            (self.compare_left, "Original", chosen[0]),
            (self.compare_right, "Current result", chosen[1]),
        ):
            box.blockSignals(True)
            box.clear()
            box.addItem(first, None)
            for result in kept:
                box.addItem(result.label(), result.key)
            box.setCurrentIndex(max(0, box.findData(key)) if key is not None else 0)
            box.blockSignals(False)

    def chosen(self) -> tuple[str | None, str | None]:
        return self.compare_left.currentData(), self.compare_right.currentData()
