"""One module per CLI sub-command.

Each module exposes ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Keep module-level imports light (no torch): heavy imports go
inside ``run`` so that ``mcrage --help`` stays fast.
"""

COMMANDS = (
    "inspect",
    "train",
    "sample",
    "fidelity",
    "privacy",
    "audit",
    "compare",
    "dashboard",
)
