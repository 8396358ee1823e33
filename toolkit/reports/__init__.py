"""Funder reports: national work once (:mod:`.national`), every page's content as data
(:mod:`.build`, :mod:`.content`), disclosure control over the whole batch (:mod:`.protect`),
then one fresh kernel per region renders its page (:mod:`.batch`, :mod:`.sections`, :mod:`.render`)."""

from .batch import *  # noqa: F403
from .batch import __all__ as _batch_all
from .sections import (
    NationalWork,
    RegionReport,
    index_body,
    index_title,
    prepare_impact,
    prepare_national,
    report_title,
)

__all__ = [
    *_batch_all,
    "NationalWork",
    "RegionReport",
    "prepare_national",
    "prepare_impact",
    "report_title",
    "index_title",
    "index_body",
]
