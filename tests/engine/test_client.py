"""The engine through its client, without Qt: typed commands in, typed events out, frames filled in, and
every command answered promptly while the engine trains the slider's codebooks in the background."""

import dataclasses
import time

import numpy as np
import pytest
from PIL import Image

from lgi_studio.engine import commands as cmd
from lgi_studio.engine import events as ev
from lgi_studio.engine.client import EngineClient, EngineError
from lgi_studio.engine.frames import BUFFER_SHAPES

TIMEOUT_S = 120.0
WIDTH, HEIGHT = 48, 32
ANSWER_S = 0.2
"""The issue's bound: every command is answered within 200 ms whatever the engine is doing (the benchmark
measures its p99; a test on this shared 2-core machine allows the scheduler's tail, see below)."""


def picture(path, width: int = WIDTH, height: int = HEIGHT, seed: int = 0):
    """A seeded noisy gradient: enough detail that thousands of Gaussians keep distinct colours."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack([xx * 255 / width, yy * 255 / height, (xx + yy) % 256], -1) + rng.normal(0, 40, (height, width, 3))
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path)
    return str(path)


@pytest.fixture(scope="module")
def client():
    with EngineClient() as engine:
        yield engine


def small_fit(path: str, count: int = 40, iterations: int = 20) -> cmd.Fit:
    config = {"count": count, "iterations": iterations, "seed": 0, "scheme": "lgi", "preview_interval_s": 0.0}
    return cmd.Fit(path, config, backend="cpu")


def test_a_fit_streams_typed_events_with_frames(client, tmp_path):
    client.send(small_fit(picture(tmp_path / "p.png")))
    started = client.wait_for(ev.Started, TIMEOUT_S)
    assert (started.backend, started.total) == ("cpu", 20)
    progress = client.wait_for(ev.Progress, TIMEOUT_S)
    assert progress.frame is not None
    assert progress.frame.shape == (HEIGHT, WIDTH, 3)
    assert progress.frame.dtype == np.uint8
    finished = client.wait_for(ev.Finished, TIMEOUT_S)
    assert finished.count == 40
    client.send(cmd.Export(str(tmp_path / "p.lgi")))
    exported = client.wait_for(ev.Exported, TIMEOUT_S)
    assert exported.bytes == (tmp_path / "p.lgi").stat().st_size
    client.send(cmd.Requantize(16))
    requantized = client.wait_for(ev.Requantized, TIMEOUT_S)
    assert (requantized.size, requantized.scheme, requantized.frame.shape) == (16, "lgi", (HEIGHT, WIDTH, 3))


def test_a_failed_command_is_an_error_event(client, tmp_path):
    client.send(cmd.OpenLgi(str(tmp_path / "missing.lgi")))
    with pytest.raises(EngineError, match=r"missing\.lgi"):
        client.wait_for(ev.LgiOpened, TIMEOUT_S)


def test_a_misspelt_command_is_an_error_where_it_is_made(client):
    with pytest.raises(TypeError, match="not an engine command"):
        client.send(("pause", {}))
    with pytest.raises(ValueError, match="unknown engine command 'puase'"):
        cmd.parse("puase")
    with pytest.raises(TypeError, match="no field sise"):
        cmd.parse("requantize", {"sise": 16})
    assert cmd.parse("render", {"viewport": [0, 0, 0.5, 0.5]}) == cmd.Render(viewport=(0, 0, 0.5, 0.5))


def test_a_payload_has_a_frame_only_when_a_picture_came():
    progress = ev.Progress(1, 10, "fit", 0.1, 20.0, 0.5, 40, 2.0)
    assert "frame" not in progress.payload()
    frame = np.zeros((2, 3, 3), np.uint8)
    assert dataclasses.replace(progress, frame=frame).payload()["frame"] is frame


def test_every_event_kind_is_distinct():
    kinds = [event.kind for event in ev.EVENTS]
    assert len(set(kinds)) == len(kinds)
    defined = {v for v in vars(ev).values() if isinstance(v, type) and issubclass(v, ev.Event) and v is not ev.Event}
    assert defined == set(ev.EVENTS)


def test_the_engine_quits_cleanly_when_asked(tmp_path):
    """Exit code 0: it read Quit and ended by itself, not terminated after ``JOIN_S``. Asked once it answers
    and given the test's patience, not the window's: a spawned engine can take longer than ``JOIN_S`` just to
    import on a loaded machine (terminated, -15, in 1 of 3 runs of the GUI and engine tests under a CPU hog)."""
    engine = EngineClient().start()
    assert engine.alive
    engine.send(cmd.Pause())
    assert engine.wait_for(ev.Refused, TIMEOUT_S).command == "pause"  # serving commands
    assert engine.stop(join_s=TIMEOUT_S) == 0
    engine.close()
    assert not engine.alive


def _latencies_until(client: EngineClient, kind: type[ev.Event] = ev.Warmed) -> tuple[list[float], ev.Event]:
    """Ask for the overlay again and again while the engine works in the background until it sends ``kind``
    (the slider's codebooks warmed, the file measured); the seconds each answer took, and that event."""
    latencies, ended = [], None
    while ended is None:
        sent = time.perf_counter()
        client.send(cmd.Overlay())
        while True:
            event = client.receive(TIMEOUT_S)
            if isinstance(event, kind):
                ended = event
            elif isinstance(event, ev.Ellipses):
                latencies.append(time.perf_counter() - sent)
                break
            elif isinstance(event, ev.Error):
                raise EngineError(event)
        time.sleep(0.02)
    return latencies, ended


def test_commands_are_answered_while_the_codebooks_warm(client, tmp_path):
    """Defect 2: after a large fit a command waited behind a whole k-means (32-45 s at N=17,487)."""
    client.send(small_fit(picture(tmp_path / "big.png", 160, 120), count=6000, iterations=2))
    client.wait_for(ev.Finished, TIMEOUT_S)
    latencies, _ = _latencies_until(client)
    assert len(latencies) >= 5, "the warm-up ended too soon to measure anything"
    # waiting behind one codebook size took 0.28-1.00 s here (median 0.45 s); answering at once takes
    # milliseconds. The slowest answer is the scheduler's on a loaded machine (7 s seen at load 10), so the
    # p99 bound lives in benchmarks/gui_responsiveness.py, and the test asserts the median.
    assert np.median(latencies) < ANSWER_S / 4, f"median answer {np.median(latencies):.2f} s"


def test_start_right_after_a_large_fit_is_answered_at_once(client, tmp_path):
    """The defect as met: Start pressed while the engine warmed the previous fit's codebooks."""
    client.send(small_fit(picture(tmp_path / "big.png", 160, 120), count=6000, iterations=2))
    client.wait_for(ev.Finished, TIMEOUT_S)
    sent = time.perf_counter()
    client.send(small_fit(picture(tmp_path / "small.png")))
    client.wait_for(ev.Started, TIMEOUT_S)
    assert time.perf_counter() - sent < ANSWER_S
    assert client.wait_for(ev.Finished, TIMEOUT_S).count == 40
    assert client.wait_for(ev.Warmed, TIMEOUT_S).sizes == [16, 32]  # the new fit's sizes, not the old one's


def test_a_command_the_fit_cannot_take_is_refused_not_dropped(client, tmp_path):
    client.send(small_fit(picture(tmp_path / "p.png"), iterations=100_000))
    client.wait_for(ev.Progress, TIMEOUT_S)
    client.send(cmd.Render(tag="late"))
    refused = client.wait_for(ev.Refused, TIMEOUT_S)
    assert (refused.command, refused.reason) == ("render", "a fit is running")
    client.send(cmd.Stop())
    kept = client.wait_for(ev.Finished, TIMEOUT_S)  # Stop keeps the result so far
    assert kept.stopped
    assert 0 < kept.iterations < 100_000
    assert kept.frame.shape == (HEIGHT, WIDTH, 3)
    client.send(cmd.Pause())
    assert client.wait_for(ev.Refused, TIMEOUT_S) == ev.Refused("pause", "no fit is running")


def sent_all(client: EngineClient, folder) -> None:
    """Wait until the engine has answered every command sent so far, without reading an answer: it carries
    out commands in order, so once a PNG export sent last is on disk, every earlier answer is in the pipe.
    (A fixed sleep did not know: on a loaded machine the engine may not have got that far.)"""
    marker = folder / "answered.png"
    client.send(cmd.ExportPng(str(marker)))
    deadline = time.monotonic() + TIMEOUT_S
    while not marker.exists():
        assert time.monotonic() < deadline, "the engine never got to the last command"
        time.sleep(0.01)


def test_frames_of_several_sizes_sent_before_any_is_read_all_arrive(client, tmp_path):
    """A render at another size replaced the one frame buffer, unlinking a frame not yet read."""
    client.send(small_fit(picture(tmp_path / "p.png")))
    client.wait_for(ev.Warmed, TIMEOUT_S)
    sizes = [(10, 8), (12, 9), (14, 11)]
    for size in sizes:
        client.send(cmd.Render(size=size, tag=str(size)))
    sent_all(client, tmp_path)  # all three sent before the first is read
    frames = [client.wait_for(ev.Rendered, TIMEOUT_S).frame.shape for _ in sizes]
    assert frames == [(height, width, 3) for width, height in sizes]


def test_a_frame_dropped_before_it_was_read_is_an_error_not_a_crash(client, tmp_path):
    client.send(small_fit(picture(tmp_path / "p.png")))
    client.wait_for(ev.Warmed, TIMEOUT_S)  # after Finished: nothing else comes unasked
    sizes = [(8 + i, 8) for i in range(BUFFER_SHAPES + 2)]
    for size in sizes:
        client.send(cmd.Render(size=size))
    sent_all(client, tmp_path)  # all sent before any is read: the two oldest blocks are gone
    answers = [client.receive(TIMEOUT_S) for _ in sizes]
    assert [type(a) for a in answers] == [ev.Error] * 2 + [ev.Rendered] * BUFFER_SHAPES
    assert "a picture from the engine was lost (rendered" in answers[0].message
    assert answers[-1].frame.shape == (8, 8 + BUFFER_SHAPES + 1, 3)


def test_commands_are_answered_while_the_file_is_measured(client, tmp_path):
    """The size readout's measure (the colour refit of Export .lgi, 2.4-4.9 s at N=5k-20k) ran in the
    command loop, so a command sent meanwhile waited for all of it."""
    client.send(small_fit(picture(tmp_path / "big.png", 320, 240), count=6000, iterations=2))
    client.wait_for(ev.Warmed, TIMEOUT_S)  # the warm-up is over: only the measure runs
    started = time.perf_counter()
    client.send(cmd.Measure())
    latencies, measured = _latencies_until(client, ev.Measured)
    took = time.perf_counter() - started
    assert measured.bytes > 0
    assert measured.scheme == "lgi"
    assert measured.psnr > 10
    # as above: the median here, the p99 in the benchmark
    assert np.median(latencies) < ANSWER_S / 4, f"median answer {np.median(latencies):.2f} s, measure {took:.2f} s"
    assert len(latencies) >= 5, f"the measure ({took:.2f} s) ended too soon to measure anything"


def test_an_export_during_the_measure_writes_the_measured_file(client, tmp_path):
    client.send(small_fit(picture(tmp_path / "p.png"), count=60))
    client.wait_for(ev.Finished, TIMEOUT_S)
    out = tmp_path / "out.lgi"
    client.send(cmd.Measure())
    client.send(cmd.Export(str(out)))
    measured = client.wait_for(ev.Measured, TIMEOUT_S)
    exported = client.wait_for(ev.Exported, TIMEOUT_S)
    assert exported.bytes == measured.bytes == out.stat().st_size


def test_a_slider_move_cancels_the_measure_and_a_waiting_export_fails_aloud(client, tmp_path):
    client.send(small_fit(picture(tmp_path / "p.png"), count=60))
    client.wait_for(ev.Warmed, TIMEOUT_S)  # after Finished: so the two answers read below are the only ones
    out = tmp_path / "out.lgi"
    client.send(cmd.Export(str(out)))
    client.send(cmd.Requantize(16))
    answers = [type(client.receive(TIMEOUT_S)).__name__ for _ in range(2)]
    assert sorted(answers) == ["Error", "Requantized"]
    assert not out.exists()
    client.send(cmd.Measure())
    assert client.wait_for(ev.Measured, TIMEOUT_S).scheme == "lgi"  # the slider's file, measured anew
