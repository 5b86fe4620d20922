"""The phantom chest X-ray data set: seeded MIMIC-CXR-JPG and CheXpert-small trees with reports and masks.

Library API: :func:`generate_phantom` writes both trees; :func:`sample_study` samples one study's findings,
report text, labels and image specs; :func:`render` draws an image and its lesion masks. Modules: ``config``
(:class:`PhantomConfig`), ``findings`` (what a study contains, labels), ``reports`` (report text), ``sites``
(acquisition nuisance), ``render`` (image + masks), ``study`` (one study from its own generator), ``writer``
(the official layouts; the mask file format is documented there).
"""

from igcl.data.phantom.config import PhantomConfig
from igcl.data.phantom.render import ImageSpec, render
from igcl.data.phantom.study import Study, sample_study, sample_subject
from igcl.data.phantom.writer import generate_phantom

__all__ = ["ImageSpec", "PhantomConfig", "Study", "generate_phantom", "render", "sample_study", "sample_subject"]
