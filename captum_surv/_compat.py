"""The only module that touches private names of Captum or pycox.

Extensions that imported library internals broke between releases; keeping every such
import here makes an upgrade a one-file change.
"""

from __future__ import annotations

from typing import Any

from pycox.models import cox as _pycox_cox


def is_pycox_proportional_hazards(model: Any) -> bool:
    """True for pycox's CoxPH and CoxPHSorted (their common base class is private)."""
    return isinstance(model, _pycox_cox._CoxPHBase)
