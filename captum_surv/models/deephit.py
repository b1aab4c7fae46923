"""DeepHit with competing risks."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from captum_surv.models.base import (
    SurvivalForward,
    conditional_ratio,
    needs_event,
    shift_prev,
)
from captum_surv.models.discrete import pmf_from_logits


class DeepHitForward(SurvivalForward):
    """DeepHit (competing risks): one joint softmax over risks x times plus a "survive" logit.

    The network returns ``[batch, n_risks, n_times]``. ``pmf_r`` is the softmax over all
    risks and times (with an extra 0 logit), ``CIF_r = cumsum_t pmf_r`` and the all-cause
    survival is ``S = 1 - sum_r CIF_r``. ``event=r`` (0-based, as the first axis of pycox's
    ``predict_cif``) selects the cause for ``"cif"``, ``"pmf"`` and ``"hazard"`` (the
    cause-specific discrete hazard ``pmf_r(t_k) / S(t_{k-1})``). ``"survival"`` and
    ``"cumhazard"`` (``-log S``) are all-cause.
    """

    model_name = "DeepHit"
    supported_outputs = ("survival", "cumhazard", "cif", "pmf", "hazard")
    interpolations = ("const_pdf", "step")
    default_interpolation = "const_pdf"

    def _check_event(self, event: int | None) -> int | None:
        n_risks = int(self._family["n_risks"])
        if event is None:
            if needs_event(self.output):
                raise ValueError(
                    f"output={self.output!r} describes one cause: pass event=r with r in "
                    f"0..{n_risks - 1} (the index of pycox's predict_cif(x)[r])."
                )
            return None
        if (
            isinstance(event, (bool, np.bool_))
            or not isinstance(event, (int, np.integer))
            or not 0 <= event < n_risks
        ):
            raise ValueError(
                f"event={event!r} is out of range: this DeepHit model has {n_risks} competing "
                f"risks; pass event as an int in 0..{n_risks - 1}."
            )
        return int(event)

    def _compute(self, net: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.output_from_raw(self._run_net(net, *inputs))

    def output_from_raw(self, phi: torch.Tensor) -> torch.Tensor:
        """Map raw network outputs ``[batch, n_risks, n_cuts]`` to the selected output."""
        batch = phi.shape[0]
        pmf = pmf_from_logits(phi.reshape(batch, -1)).reshape(phi.shape)
        cif = torch.cumsum(pmf, dim=2)
        survival = 1 - cif.sum(dim=1)
        lookup = self._lookup
        ones = survival.new_ones((batch, 1))
        if self.output in ("survival", "cumhazard"):
            if not lookup.is_native:
                survival = lookup.interpolate(torch.cat([ones, survival], dim=1))
            return survival if self.output == "survival" else -torch.log(survival)
        r = self.event
        if lookup.is_native:
            cif_r, all_survival = cif[:, r], survival
        else:
            cif_r = lookup.interpolate(torch.cat([ones * 0, cif[:, r]], dim=1))
            all_survival = lookup.interpolate(torch.cat([ones, survival], dim=1))
        if self.output == "cif":
            return cif_r
        pmf_r = pmf[:, r] if lookup.is_native else cif_r - shift_prev(cif_r, 0.0)
        if self.output == "pmf":
            return pmf_r
        return conditional_ratio(pmf_r, shift_prev(all_survival, 1.0))
