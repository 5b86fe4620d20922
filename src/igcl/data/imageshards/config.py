"""The ``images`` config section (config.yaml), as a frozen dataclass that checks its values."""

from __future__ import annotations

from dataclasses import dataclass

ON_CORRUPT_CHOICES: tuple[str, ...] = ("error", "skip")
RESIZE_CHOICES: tuple[str, ...] = ("crop", "pad")  # igcl.data.imageshards.decode.RESIZE_MODES (numpy-free here)


@dataclass(frozen=True)
class ImagesConfig:
    """How the images stage turns manifest JPEGs into one uint8 array.

    size:       side of the stored square images in pixels.
    resize:     how a non-square image becomes square (:mod:`igcl.data.imageshards.decode`): ``crop`` (shorter
                side resized to ``size``, the longer center-cropped) or ``pad`` (longer side resized to ``size``,
                the shorter padded with black; CheXzero's, nothing cut).
    views:      manifest ``view`` values to keep (default frontal only: PA, AP and FRONTAL, which ingest
                writes for CheXpert frontal images with a blank AP/PA).
    on_corrupt: a corrupt, truncated, non-JPEG or missing file: ``error`` stops naming the file and the manifest
                row, writing nothing; ``skip`` leaves the row out and records it in the log and sidecar.
    """

    size: int = 64
    resize: str = "crop"
    views: tuple[str, ...] = ("PA", "AP", "FRONTAL")
    on_corrupt: str = "error"

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 8 <= self.size <= 4096:
            raise ValueError(f"images.size: expected an integer in [8, 4096], got {self.size!r}")
        if not isinstance(self.views, tuple) or not self.views:
            raise ValueError(f"images.views: expected a non-empty list of view names, got {self.views!r}")
        for view in self.views:
            if not isinstance(view, str) or not view or view != view.upper():
                raise ValueError(f"images.views: view names are upper-case strings as in the manifest "
                                 f"(PA, AP, LATERAL, ...), got {view!r}")
        if len(set(self.views)) != len(self.views):
            raise ValueError(f"images.views: duplicate view names in {list(self.views)}")
        if self.resize not in RESIZE_CHOICES:
            raise ValueError(f"images.resize: expected one of {list(RESIZE_CHOICES)}, got {self.resize!r}")
        if self.on_corrupt not in ON_CORRUPT_CHOICES:
            raise ValueError(f"images.on_corrupt: expected one of {list(ON_CORRUPT_CHOICES)}, got {self.on_corrupt!r}")
