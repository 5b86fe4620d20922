"""The phantom chest X-ray data set: seeded MIMIC-CXR-JPG and CheXpert-small trees with reports and masks.

Library API: :func:`run_phantom` is the stage (the trees and their sidecars); :func:`generate_phantom` writes
the trees; :func:`sample_study` samples one study's findings,
report text, labels and image specs; :func:`render` draws an image and its lesion masks. Modules: ``config``
(:class:`PhantomConfig`), ``findings`` (what a study contains, labels), ``reports`` (report text), ``sites``
(acquisition nuisance), ``render`` (image + masks), ``study`` (one study from its own generator), ``writer``
(the official layouts; the mask file format is documented there).
"""

from __future__ import annotations

from igcl.lazy import lazy_exports

# name -> defining module, imported on first use: `igcl.data.phantom.config` alone (what the workflow reads to check
# config.yaml) then costs no numpy or PIL import.
_EXPORTS = {
    "PhantomConfig": "igcl.data.phantom.config",
    "ImageSpec": "igcl.data.phantom.render",
    "render": "igcl.data.phantom.render",
    "Study": "igcl.data.phantom.study",
    "sample_study": "igcl.data.phantom.study",
    "sample_subject": "igcl.data.phantom.study",
    "generate_phantom": "igcl.data.phantom.writer",
    "PhantomOutputs": "igcl.data.phantom.writer",
    "run_phantom": "igcl.data.phantom.writer",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["ImageSpec", "PhantomConfig", "PhantomOutputs", "Study", "generate_phantom", "render", "run_phantom",
           "sample_study", "sample_subject"]
