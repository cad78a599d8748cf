"""The engine when the window is gone (killed, crashed): it exits quietly instead of printing a
BrokenPipeError traceback into the terminal the app was started from (seen under xcb after SIGTERM)."""

import multiprocessing

from lgi_studio.engine import commands as cmd
from lgi_studio.engine.process import engine_main


def test_the_engine_returns_quietly_when_the_window_has_gone():
    commands_out, commands_in = multiprocessing.Pipe(duplex=False)
    events_out, events_in = multiprocessing.Pipe(duplex=False)
    events_out.close()  # the window's end: nobody reads the answers any more
    commands_in.send(cmd.Pause())  # answered with an event, which cannot be sent
    commands_in.close()
    engine_main(commands_out, events_in)  # raised BrokenPipeError before
