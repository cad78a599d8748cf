"""The settings panel: the fit's settings (written to the session as they change), the backend in use and
the codebook slider with its readout and the way back to the fit's own result."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lgi_studio.core.scheme_names import DEFAULT_SCHEME, PRESETS, RENDER_MODES, SCHEMES, SIZED_CODEBOOK
from lgi_studio.engine.process import CODEBOOK_STOPS

from .codebook_stops import OWN_POSITION, own_position, top_position
from .session import FitSettings, Session

BACKENDS = ("auto", "cpu", "cuda", "vulkan", "metal")
SCHEME_HELP = {
    "lgi-sq": "scalar-quantized colours, range-coded: the smallest files (the default)",
    "lgi": "like lgi-sq with a colour codebook: the slider's scheme",
    "gaussianimage": "GaussianImage's (ECCV 2024) quantization, for comparison",
    "vq": "one k-means codebook over all parameters: small, blurrier",
    "float32": "every parameter as a float: lossless, large",
}
STAGED_QA = frozenset({"lgi-sq"})
"""Schemes whose QA tunes the finished float fit (``core.schemes``' ``staged_qa``; a test keeps them equal)."""
MODE_HELP = {"sum": "accumulated summation (the original LGI's, fastest)", "alpha": "alpha compositing"}


def _preset_tip() -> str:
    lines = [f"{name}: {iterations:,} iterations" for name, iterations in PRESETS.items()]
    return (
        "How long the fit trains. " + "; ".join(lines) + ". Time grows with iterationsxGaussiansxpixels; "
        "the status bar estimates the time left once the count has grown."
    )


def qa_start_tip(settings: FitSettings) -> str:
    """What "QA starts at" means for the chosen scheme, in the iterations the engine will run."""
    n, start, scheme = settings.iterations or PRESETS[settings.preset], settings.qa_start, settings.scheme
    if scheme in STAGED_QA:
        more = max(2, round((1.0 - start) * n))
        how = f"QA tunes the finished fit for (1 - {start:.2f}) of its iterations more"
        return f"{scheme}: {how}: {n} + {more} = {n + more} iterations, QA marked at {n}"
    return f"{scheme}: QA replaces the end of the fit, from iteration {min(n - 1, round(start * n))} of {n}"


class SettingsPanel(QWidget):
    """The form on the left; every change goes to ``session.settings`` (the fit reads only that)."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        defaults = FitSettings()
        self.count = QSpinBox(minimum=16, maximum=200_000, singleStep=500, value=defaults.count)
        self.count.setToolTip("How many Gaussians describe the picture: more is sharper and a larger file")
        self.adaptive = QCheckBox("choose from the picture")
        self.adaptive.setToolTip("Pick the count from the picture's detail (the status bar shows the count chosen)")
        self.preset = self._combo(PRESETS, defaults.preset, _preset_tip())
        self.mode = self._combo(
            RENDER_MODES,
            defaults.mode,
            "How Gaussians combine: " + "; ".join(f"{k}: {v}" for k, v in MODE_HELP.items()),
        )
        self.qa = QCheckBox("quantization-aware")
        self.qa.setChecked(defaults.qa_training)
        self.qa.setToolTip(
            "Train on the quantized Gaussians (lgi-sq: a tuning after the fit; the others: the fit's end): better "
            "files, a slower end. On by default here (the plots show the switch); the CLI's --qa-training is off"
        )
        self.qa_start = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=defaults.qa_start)
        self.scheme = self._combo(
            SCHEMES,
            DEFAULT_SCHEME,
            "How the .lgi stores the Gaussians:\n" + "\n".join(f"{k}: {v}" for k, v in SCHEME_HELP.items()),
        )
        self.codebook = self._combo(
            ["auto"] + [str(s) for s in CODEBOOK_STOPS],
            "auto",
            "Colour codebook entries (lgi, gaussianimage and vq only)",
        )
        self.backend = self._combo(
            BACKENDS, "auto", "Where the engine computes; it picks one backend per run of the app"
        )
        self.backend_label = QLabel("not started")
        self.backend_label.setToolTip("The engine starts with the first fit")
        self._form()
        self._wire()
        self._enable()

    @staticmethod
    def _combo(items, current: str, tip: str) -> QComboBox:
        box = QComboBox()
        box.addItems(list(items))
        box.setCurrentText(current)
        box.setToolTip(tip)
        return box

    def _form(self) -> None:
        form = QFormLayout()
        for label, widget in (
            ("Gaussians", self.count),
            ("", self.adaptive),
            ("Preset", self.preset),
            ("Render mode", self.mode),
            ("Training", self.qa),
            ("QA starts at", self.qa_start),
            ("Scheme", self.scheme),
            ("Codebook", self.codebook),
            ("Backend", self.backend),
            ("In use", self.backend_label),
        ):
            form.addRow(label, widget)
        self.slider = QSlider(Qt.Horizontal, minimum=0, maximum=len(CODEBOOK_STOPS) - 1, value=OWN_POSITION)
        self.slider.setToolTip(
            "Re-quantize the result with a colour codebook of another size: "
            + ", ".join(str(s) for s in CODEBOOK_STOPS)
            + ". A codebook has at most one colour per Gaussian: past the count the handle stops at the largest"
        )
        self._pressed_at: int | None = None
        self.slider_label = QLabel(self.session.slider_hint())
        self.slider_label.setWordWrap(True)
        self.restore_button = QPushButton("Back to the fit's own result")
        self.restore_button.setToolTip("Undo the slider: Export .lgi writes the fit's own scheme again")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("<b>Codebook size</b> (re-quantize the result)"))
        layout.addWidget(self.slider)
        layout.addWidget(self.slider_label)
        layout.addWidget(self.restore_button)
        layout.addStretch(1)

    def _wire(self) -> None:
        """Widgets write to the session; the session's slider text comes back here."""
        s = self.session
        self.count.valueChanged.connect(lambda v: s.set_settings(count=v))
        self.adaptive.toggled.connect(lambda on: s.set_settings(adaptive=on))
        self.preset.currentTextChanged.connect(lambda v: s.set_settings(preset=v))
        self.mode.currentTextChanged.connect(lambda v: s.set_settings(mode=v))
        self.qa.toggled.connect(lambda on: s.set_settings(qa_training=on))
        self.qa_start.valueChanged.connect(lambda v: s.set_settings(qa_start=v))
        self.scheme.currentTextChanged.connect(lambda v: s.set_settings(scheme=v))
        self.codebook.currentTextChanged.connect(lambda v: s.set_settings(codebook=None if v == "auto" else int(v)))
        self.backend.currentTextChanged.connect(lambda v: s.set_settings(backend=v))
        s.changed.connect(lambda what: self._enable() if what in ("settings", "state", "result", "backend") else None)
        s.slider_text.connect(self.slider_label.setText)
        s.slider_rest.connect(self._rest_on_own)
        self.slider.valueChanged.connect(self._clamp)
        self.slider.sliderPressed.connect(lambda: setattr(self, "_pressed_at", self.slider.value()))
        self.slider.sliderReleased.connect(self._released)

    def _clamp(self, position: int) -> None:
        """A stop above the result's count moves the handle to the largest allowed (which is then chosen)."""
        result = self.session.current
        if result is not None and position > top_position(result.count):
            self.slider.setValue(top_position(result.count))

    def _rest_on_own(self) -> None:
        """The fit's own result is current: the handle goes where it stands for it, sending nothing."""
        result = self.session.current
        if result is not None:
            self.slider.blockSignals(True)
            self.slider.setValue(own_position(result.count, result.settings.codebook))
            self.slider.blockSignals(False)

    def _released(self) -> None:
        """A release where the handle already rested chooses that size (a value that did not change says
        nothing), unless it is already the result's codebook."""
        result, position = self.session.current, self.slider.value()
        if result is not None and position == self._pressed_at and CODEBOOK_STOPS[position] != result.codebook:
            self.slider.valueChanged.emit(position)

    def _enable(self) -> None:
        s = self.session
        self.count.setEnabled(not s.settings.adaptive)
        self.qa_start.setEnabled(s.settings.qa_training)
        self.qa_start.setToolTip(qa_start_tip(s.settings))
        self.codebook.setEnabled(s.settings.scheme in SIZED_CODEBOOK)
        result = s.current
        working = s.state == "done" and result is not None
        self.slider.setEnabled(working and result.count >= CODEBOOK_STOPS[0])
        self.restore_button.setEnabled(working and result.codebook is not None)
        if s.backend is not None:
            self.backend_label.setText(s.backend[0])
            self.backend_label.setToolTip(f"{s.backend[0]}: {s.backend[1]}")
