"""Command-line entry points: ``igcl <stage> ...``, one small module per stage, each with ``main(argv) -> int``."""
