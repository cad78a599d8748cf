"""The engine: every computation the desktop app asks for, in a process of its own, without Qt.

``commands`` and ``events`` are the typed messages; ``process`` is the engine process; ``client`` spawns it
and talks to it (the Qt worker and the self-test both use the client). Importing this package starts
neither Taichi nor Qt: the engine process imports the codec when its first command needs it.
"""
