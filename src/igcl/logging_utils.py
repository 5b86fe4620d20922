"""One logging set-up for every CLI: a readable line format to stderr and, when asked, to a log file."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(log_file: str | os.PathLike[str] | None = None, level: int = logging.INFO) -> None:
    """Configure the root logger for a CLI run. Only rank 0 logs at INFO in distributed runs."""
    if int(os.environ.get("RANK", "0")) != 0:
        level = max(level, logging.WARNING)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="a"))
    logging.basicConfig(level=level, format=LOG_FORMAT, handlers=handlers, force=True)
