"""The namespace lab: multi-node clusters on one machine (see docs/lab.md).

Use :class:`Lab` from tests and benchmarks::

    from tandem.lab import Lab
    with Lab("mine", nodes=3) as lab:
        lab.exec("pcmk-1", ["hostname"], check=True)
"""

from tandem.lab.api import Lab, default_lab_name
from tandem.lab.fake import FakeLab, LabLike

__all__ = ["FakeLab", "Lab", "LabLike", "default_lab_name"]
