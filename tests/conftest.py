"""Shared fixtures: one small trained pycox model of every supported type (see ``zoo.py``).

Every model is trained for a few epochs on simulated data (fixed seeds) with
BatchNorm and Dropout in the net, so that eval and train mode give different
predictions.  The references used by the tests are computed from pycox's own
predictions only (see ``tests/_reference.py``), never from captum_surv.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # make the in-repo package importable without installing it
    sys.path.insert(0, _ROOT)

from tests.zoo import CASE_NAMES, get_case  # noqa: E402


@pytest.fixture(scope="session")
def cases():
    """dict name -> Case for all model types (built lazily, once per session)."""
    return {n: get_case(n) for n in CASE_NAMES}


@pytest.fixture(scope="session", params=CASE_NAMES)
def case(request):
    return get_case(request.param)


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op torch thread while a module runs: tiny tensors run faster on one thread
    (and a busy machine slows them less). Use with ``pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
