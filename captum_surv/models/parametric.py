"""Parametric survival networks: the network gives a distribution's parameters per instance.

``net(x)`` returns ``[batch, k]``: the k parameters of a lifetime distribution (on an
unconstrained scale, see each class). Survival, cumulative hazard, hazard rate and density
have closed forms at any time ``t > 0``, so the time grid is free (no native grid, no
interpolation).

Conventions (``log`` is the natural logarithm; scale parameters are in time units):

==================  ==========================  =============================================
family              network columns             cumulative hazard ``H(t)``
==================  ==========================  =============================================
``"weibull"``       ``log scale, log shape``    ``(t / scale) ** shape``
``"exponential"``   ``log scale``               ``t / scale`` (the mean is ``scale``)
``"lognormal"``     ``mu, log sigma``           ``-log Phi(-(log t - mu) / sigma)``
``"loglogistic"``   ``log scale, log shape``    ``log(1 + (t / scale) ** shape)``
==================  ==========================  =============================================

The Weibull convention is torchsurv's (``torchsurv.loss.weibull``): column 0 the log scale,
column 1 the log shape; a one-column output means log shape 0, the exponential
distribution. Log-normal: ``log T ~ Normal(mu, sigma)``. Log-logistic: ``log T`` is
logistic with location ``log scale`` and scale ``1 / shape``.

Because survival at every time depends on ``x`` only through the k parameters, the
Jacobian of all T time points costs k backward passes of the network
(the ``"head"`` structure with :attr:`ParametricForward.network_rank` = k, see
:mod:`captum_surv.attr.jacobian`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from captum_surv.models.base import SurvivalForward, shift_prev

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class ParametricForward(SurvivalForward):
    """Base class: a distribution whose k parameters the network returns per instance.

    Subclasses set :attr:`param_names` and implement :meth:`cumhazard_from_params` and
    :meth:`log_hazard_rate_from_params` (both from the parameters ``[batch, k]`` and the
    log of the grid times ``[T]``); the other outputs follow from them.

    Outputs: ``"survival"`` ``S(t)``; ``"cumhazard"`` ``H(t)``; ``"hazard_rate"`` the
    instantaneous hazard ``h(t)``; ``"density"`` ``f(t) = h(t) S(t)``; and, as for the other
    families, ``"hazard"`` (the interval increment ``H(t_k) - H(t_{k-1})``) and ``"pmf"``
    (``S(t_{k-1}) - S(t_k)``), with ``H = 0`` and ``S = 1`` before the first grid time.
    """

    model_name = "parametric model"
    supported_outputs = ("survival", "cumhazard", "hazard", "pmf", "hazard_rate", "density")
    interpolations = ("exact",)
    default_interpolation = "exact"
    structure = "head"
    param_names: tuple[str, ...] = ()
    #: Value of the last parameters when the network returns fewer columns (``None``: no
    #: fewer columns allowed).
    optional_defaults: tuple[float, ...] = ()
    log_times: torch.Tensor

    @property
    def n_params(self) -> int:
        """Number of distribution parameters k."""
        return len(self.param_names)

    @property
    def network_rank(self) -> int:
        """k: every time point depends on the inputs only through the k parameters."""
        return self.n_params

    def _setup(self) -> None:
        grid = self._lookup.times
        if (grid <= 0).any():
            bad = grid[grid <= 0][:5].tolist()
            raise ValueError(
                f"times {bad} are not positive: the {self.model_name} is defined for t > 0 "
                "(survival is 1 at t = 0). Pass positive times."
            )
        self.register_buffer("log_times", torch.log(torch.as_tensor(grid)), persistent=False)

    # ------------------------------------------------------------------ parameters
    def params_from_raw(self, raw: torch.Tensor) -> torch.Tensor:
        """The network's outputs as a ``[batch, k]`` parameter matrix (checked).

        A ``[batch]`` output is read as one column; families with default values for their
        last parameters (Weibull: log shape 0) accept fewer columns.
        """
        if raw.dim() == 1:
            raw = raw[:, None]
        k, width = self.n_params, raw.shape[-1] if raw.dim() == 2 else None
        n_required = k - len(self.optional_defaults)
        if width is None or not n_required <= width <= k:
            accepted = " or ".join(f"[batch, {w}]" for w in range(k, n_required - 1, -1))
            raise ValueError(
                f"The {self.model_name} network must return {accepted} "
                f"({', '.join(self.param_names)}), got shape {tuple(raw.shape)}. Check the "
                "last layer's width against the family's convention."
            )
        if width < k:
            fill = raw.new_tensor(self.optional_defaults[width - n_required :])
            raw = torch.cat([raw, fill.expand(raw.shape[0], -1)], dim=1)
        return raw

    def cumhazard_from_params(self, params: torch.Tensor, log_t: torch.Tensor) -> torch.Tensor:
        """``H(t_k)`` for parameters ``[batch, k]`` and ``log t`` ``[T]``, shape ``[batch, T]``."""
        raise NotImplementedError

    def log_hazard_rate_from_params(
        self, params: torch.Tensor, log_t: torch.Tensor
    ) -> torch.Tensor:
        """``log h(t_k)`` for parameters ``[batch, k]`` and ``log t`` ``[T]``."""
        raise NotImplementedError

    def output_from_params(self, params: torch.Tensor) -> torch.Tensor:
        """Map parameters ``[batch, k]`` to the selected output ``[batch, n_times]``."""
        log_t = self.log_times.to(params.dtype)
        cumhazard = self.cumhazard_from_params(params, log_t)
        if self.output == "cumhazard":
            return cumhazard
        if self.output == "hazard":
            return cumhazard - shift_prev(cumhazard, 0.0)
        if self.output in ("hazard_rate", "density"):
            log_h = self.log_hazard_rate_from_params(params, log_t)
            return torch.exp(log_h if self.output == "hazard_rate" else log_h - cumhazard)
        survival = torch.exp(-cumhazard)
        if self.output == "pmf":
            return shift_prev(survival, 1.0) - survival
        return survival

    # ------------------------------------------------------------------ forward
    def output_from_network(self, raw: torch.Tensor) -> torch.Tensor:
        """The network's outputs (the parameters) -> ``[batch, n_times]``."""
        return self.output_from_raw(raw)

    def output_from_raw(self, raw: torch.Tensor) -> torch.Tensor:
        """Map the network's raw outputs to the selected output on the grid."""
        return self.output_from_params(self.params_from_raw(raw))

    def _compute(self, net: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.output_from_raw(self._run_net(net, *inputs))

    def distribution_params(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The distribution parameters ``[batch, k]`` the network gives for ``inputs``."""
        net, checked = self._prepare(inputs)
        return self.params_from_raw(self._run_net(net, *checked))


def _columns(params: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(params[:, i : i + 1] for i in range(params.shape[1]))


class WeibullForward(ParametricForward):
    """Weibull: ``H(t) = (t / scale) ** shape``; columns log scale, log shape (torchsurv's)."""

    model_name = "Weibull model"
    param_names = ("log_scale", "log_shape")
    optional_defaults = (0.0,)

    def cumhazard_from_params(self, params: torch.Tensor, log_t: torch.Tensor) -> torch.Tensor:
        log_scale, log_shape = _columns(params)
        return torch.exp(torch.exp(log_shape) * (log_t - log_scale))

    def log_hazard_rate_from_params(
        self, params: torch.Tensor, log_t: torch.Tensor
    ) -> torch.Tensor:
        log_scale, log_shape = _columns(params)
        shape = torch.exp(log_shape)
        return log_shape - log_t + shape * (log_t - log_scale)


class ExponentialForward(ParametricForward):
    """Exponential: ``H(t) = t / scale``; one column, the log scale (log of the mean)."""

    model_name = "exponential model"
    param_names = ("log_scale",)

    def cumhazard_from_params(self, params: torch.Tensor, log_t: torch.Tensor) -> torch.Tensor:
        return torch.exp(log_t - params[:, :1])

    def log_hazard_rate_from_params(
        self, params: torch.Tensor, log_t: torch.Tensor
    ) -> torch.Tensor:
        return (-params[:, :1]).expand(-1, log_t.shape[0])


class LogNormalForward(ParametricForward):
    """Log-normal: ``log T ~ Normal(mu, sigma)``; columns mu, log sigma."""

    model_name = "log-normal model"
    param_names = ("mu", "log_sigma")

    def _z(self, params: torch.Tensor, log_t: torch.Tensor) -> torch.Tensor:
        mu, log_sigma = _columns(params)
        return (log_t - mu) * torch.exp(-log_sigma)

    def cumhazard_from_params(self, params: torch.Tensor, log_t: torch.Tensor) -> torch.Tensor:
        return -torch.special.log_ndtr(-self._z(params, log_t))

    def log_hazard_rate_from_params(
        self, params: torch.Tensor, log_t: torch.Tensor
    ) -> torch.Tensor:
        z = self._z(params, log_t)
        log_density = -0.5 * z**2 - _LOG_SQRT_2PI - params[:, 1:2] - log_t
        return log_density - torch.special.log_ndtr(-z)


class LogLogisticForward(ParametricForward):
    """Log-logistic: ``S(t) = 1 / (1 + (t / scale) ** shape)``; columns log scale, log shape."""

    model_name = "log-logistic model"
    param_names = ("log_scale", "log_shape")

    def cumhazard_from_params(self, params: torch.Tensor, log_t: torch.Tensor) -> torch.Tensor:
        log_scale, log_shape = _columns(params)
        return torch.nn.functional.softplus(torch.exp(log_shape) * (log_t - log_scale))

    def log_hazard_rate_from_params(
        self, params: torch.Tensor, log_t: torch.Tensor
    ) -> torch.Tensor:
        log_scale, log_shape = _columns(params)
        u = torch.exp(log_shape) * (log_t - log_scale)
        return log_shape - log_t + torch.nn.functional.logsigmoid(u)
