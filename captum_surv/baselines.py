"""Reference inputs (baselines) for attributing survival models.

Path and Shapley-type methods (IntGrad(t), GradSHAP(t), DeepLift, occlusion, ...) explain
``Out(t|x) - Out(t|x')`` against a reference ``x'``; which reference is chosen changes
the question the explanation answers. These functions build the usual references, and the
survival-specific ones of the paper (a patient of low / median / high predicted risk, or
the patient with the most typical survival curve).

Every function returns what Captum's ``baselines=`` accepts: a tensor broadcastable to the
inputs (``[1, *S]`` or ``[n, *S]`` for inputs ``[B, *S]``), or a tuple of such tensors when
given tuple inputs (one per network input; rows of a tuple reference are joint: row ``m``
of every tensor belongs to the same patient). Results keep the dtype and device of the
data they are computed from.

Example:
    >>> from captum.attr import IntegratedGradients
    >>> x_ref = risk_quantile(fwd, x_train, q=0.25)  # a low-risk patient  # doctest: +SKIP
    >>> IntegratedGradients(fwd).attribute(x, baselines=x_ref, target=0)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from captum_surv._validation import TensorOrTuple, as_tensors, make_generator, positive_int
from captum_surv.attr.methods import predict_rows
from captum_surv.models.base import SurvivalForward

DataLike = (
    torch.Tensor | np.ndarray | pd.DataFrame | Sequence[torch.Tensor | np.ndarray | pd.DataFrame]
)


# ---------------------------------------------------------------------- simple references
def zeros(inputs: DataLike) -> TensorOrTuple:
    """All-zero baseline, shape ``[1, *S]`` per input tensor.

    Args:
        inputs: The inputs to explain, ``[B, *S]`` (or a tuple of them).

    Returns:
        Zeros of shape ``[1, *S]`` in each input's dtype and device (a tuple for tuple
        inputs).

    Example:
        >>> zeros(torch.randn(5, 3)).shape
        torch.Size([1, 3])
    """
    tensors, _, is_tuple = as_tensors(inputs, "inputs", finite=False)
    return _pack([torch.zeros_like(t[:1]) for t in tensors], is_tuple)


def feature_mean(reference: DataLike) -> TensorOrTuple:
    """Per-feature mean of the reference data, shape ``[1, *S]``.

    Args:
        reference: Reference data ``[N, *S]`` (e.g. the training set), or a tuple of them.

    Returns:
        The mean over rows, ``[1, *S]`` (a tuple for tuple data).

    Raises:
        ValueError: For empty data or NaN/inf values.
        TypeError: For non-floating data.

    Example:
        >>> feature_mean(torch.tensor([[0.0, 1.0], [2.0, 5.0]]))
        tensor([[1., 3.]])
    """
    tensors, _, is_tuple = as_tensors(reference, "reference", floating=True)
    return _pack([t.mean(dim=0, keepdim=True) for t in tensors], is_tuple)


def feature_median(reference: DataLike) -> TensorOrTuple:
    """Per-feature median of the reference data, shape ``[1, *S]``.

    For an even number of rows the median is the mean of the two middle values, as
    :func:`numpy.median` (``torch.median`` would return the lower one).

    Args:
        reference: Reference data ``[N, *S]``, or a tuple of them.

    Returns:
        The median over rows, ``[1, *S]`` (a tuple for tuple data).

    Raises:
        ValueError: For empty data or NaN/inf values.
        TypeError: For non-floating data.

    Example:
        >>> feature_median(torch.tensor([[0.0], [1.0], [5.0], [9.0]]))
        tensor([[3.]])
    """
    tensors, _, is_tuple = as_tensors(reference, "reference", floating=True)
    out = []
    for t in tensors:
        n = t.shape[0]
        ordered = torch.sort(t, dim=0).values
        low, high = ordered[(n - 1) // 2], ordered[n // 2]
        out.append(((low + high) / 2).unsqueeze(0))
    return _pack(out, is_tuple)


def sample(
    reference: DataLike, n: int, seed: int | None = 0, replace: bool = False
) -> TensorOrTuple:
    """A seeded random sample of reference rows, ``[n, *S]``.

    This is the reference distribution of GradSHAP(t) (expected gradients): pass the
    result as ``baselines`` to GradientShap or to captum_surv's GradSHAP(t).

    Args:
        reference: Reference data ``[N, *S]``, or a tuple of them (the same rows are taken
            from every tensor).
        n: Number of rows to draw (``n >= 1``).
        seed: Seed of the draw (default 0); ``None`` for an unseeded draw.
        replace: Draw with replacement (default False: distinct rows, needs ``n <= N``).

    Returns:
        The sampled rows ``[n, *S]`` (a tuple for tuple data).

    Raises:
        ValueError: For ``n < 1``, ``n > N`` without replacement, empty data or NaN/inf.

    Example:
        >>> sample(torch.arange(10.0).reshape(5, 2), n=2, seed=1).shape
        torch.Size([2, 2])
    """
    tensors, _, is_tuple = as_tensors(reference, "reference")
    n = positive_int(n, "n")
    rows = tensors[0].shape[0]
    if not replace and n > rows:
        raise ValueError(
            f"Cannot draw n={n} distinct rows from reference data with {rows} rows; pass "
            f"n <= {rows} or replace=True."
        )
    generator = make_generator(seed)
    if replace:
        index = torch.randint(rows, (n,), generator=generator)
    else:
        index = torch.randperm(rows, generator=generator)[:n]
    return _pack([t[index.to(t.device)] for t in tensors], is_tuple)


def kmeans(reference: DataLike, k: int, seed: int | None = 0) -> tuple[TensorOrTuple, torch.Tensor]:
    """A weighted k-means summary of the reference data (scikit-learn's ``KMeans``).

    A compact stand-in for a large reference set in GradSHAP(t)-type methods: the ``k``
    cluster centres, each weighted by the fraction of reference rows in its cluster.
    Clustering runs on the flattened rows in the data's own units (standardise the data
    first if features have very different scales); for tuple data the tensors' features
    are concatenated so that rows are clustered jointly.

    Args:
        reference: Reference data ``[N, *S]``, or a tuple of them.
        k: Number of clusters, ``1 <= k <=`` the number of distinct rows.
        seed: ``random_state`` of KMeans (default 0); ``None`` for an unseeded run.

    Returns:
        ``(centers, weights)``: centres ``[k, *S]`` (a tuple for tuple data) in the data's
        dtype, and weights ``[k]`` (cluster sizes / N, summing to 1), ordered by decreasing
        weight. Captum's GradientShap draws baselines uniformly: pass only ``centers`` there;
        the weights are for weighted averages of per-centre attributions.

    Raises:
        ValueError: For ``k < 1``, ``k`` above the number of distinct rows, empty data or
            NaN/inf.
        TypeError: For non-floating data.
        ImportError: If scikit-learn is not installed.

    Example:
        >>> centers, weights = kmeans(x_train, k=10, seed=0)  # doctest: +SKIP
    """
    tensors, _, is_tuple = as_tensors(reference, "reference", floating=True)
    k = positive_int(k, "k")
    try:
        from sklearn.cluster import KMeans
    except ImportError as err:  # pragma: no cover - scikit-learn comes with scikit-survival
        raise ImportError(
            "kmeans() needs scikit-learn: pip install scikit-learn (or captum-surv[data])."
        ) from err
    rows = tensors[0].shape[0]
    flat = torch.cat([t.reshape(rows, -1).double().cpu() for t in tensors], dim=1).numpy()
    distinct = np.unique(flat, axis=0).shape[0]
    if k > distinct:
        raise ValueError(
            f"k={k} clusters requested, but the reference data has only {distinct} distinct "
            f"rows; pass k <= {distinct}."
        )
    fitted = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(flat)
    counts = np.bincount(fitted.labels_, minlength=k)
    order = np.argsort(-counts, kind="stable")
    centers_flat = fitted.cluster_centers_[order]
    weights = counts[order] / rows
    out = []
    start = 0
    for t in tensors:
        size = int(np.prod(t.shape[1:], dtype=np.int64))
        block = centers_flat[:, start : start + size].reshape(k, *t.shape[1:])
        out.append(torch.as_tensor(block, dtype=t.dtype, device=t.device))
        start += size
    weight_tensor = torch.as_tensor(weights, dtype=tensors[0].dtype, device=tensors[0].device)
    return _pack(out, is_tuple), weight_tensor


def group(reference: DataLike, mask: torch.Tensor | np.ndarray | Sequence[bool]) -> TensorOrTuple:
    """The reference rows of a subgroup, e.g. the treated, or patients over 65.

    Args:
        reference: Reference data ``[N, *S]``, or a tuple of them.
        mask: Boolean mask of length ``N``: True for the rows to keep.

    Returns:
        The selected rows ``[n_true, *S]`` (a tuple for tuple data).

    Raises:
        ValueError: If the mask's length is not ``N`` or no row is selected.
        TypeError: If the mask is not boolean (select by index with ``reference[idx]``).

    Example:
        >>> ref_old = group(x_train, x_train[:, 0] > 65)  # doctest: +SKIP
    """
    tensors, _, is_tuple = as_tensors(reference, "reference")
    if isinstance(mask, torch.Tensor):
        m = mask.detach().cpu()
    else:
        m = torch.as_tensor(np.asarray(mask))
    if m.dtype != torch.bool:
        raise TypeError(
            f"mask must be boolean (True for rows to keep); got dtype {m.dtype}. To select "
            "rows by index, index the reference data directly."
        )
    rows = tensors[0].shape[0]
    if m.dim() != 1 or m.shape[0] != rows:
        raise ValueError(
            f"mask has shape {tuple(m.shape)}, but the reference data has {rows} rows; pass "
            "a 1-D mask with one entry per row."
        )
    if not bool(m.any()):
        raise ValueError("mask selects no rows; the group is empty.")
    return _pack([t[m.to(t.device)] for t in tensors], is_tuple)


# ---------------------------------------------------------------------- model-based references
@overload
def risk_quantile(
    forward: SurvivalForward,
    reference: DataLike,
    q: float = ...,
    *,
    batch_size: int = ...,
    return_index: Literal[False] = ...,
) -> TensorOrTuple: ...


@overload
def risk_quantile(
    forward: SurvivalForward,
    reference: DataLike,
    q: float = ...,
    *,
    batch_size: int = ...,
    return_index: Literal[True],
) -> tuple[TensorOrTuple, int]: ...


def risk_quantile(
    forward: SurvivalForward,
    reference: DataLike,
    q: float = 0.5,
    *,
    batch_size: int = 1024,
    return_index: bool = False,
) -> TensorOrTuple | tuple[TensorOrTuple, int]:
    """The reference row whose predicted risk is the ``q``-quantile of the reference risks.

    The risk of a row is ``1 - mean_k S(t_k | x)``: one minus its predicted survival
    averaged over the forward's time grid (higher means worse prognosis). Survival is used
    whatever ``forward.output`` is (via ``forward.with_output("survival")``; all-cause
    survival for competing risks), computed under ``torch.no_grad`` in the data's dtype
    (pass float64 data for float64 precision) and averaged in float64. The row is
    the order statistic at position ``round(q * (N - 1))`` (numpy's ``"nearest"`` quantile;
    ties keep the data order). The paper contrasts ``q = 0.25, 0.5, 0.75``.

    Args:
        forward: A :class:`~captum_surv.SurvivalForward` (e.g. from ``from_pycox``).
        reference: Reference data ``[N, *S]`` the forward accepts, or a tuple of them.
        q: The quantile, in ``[0, 1]`` (default 0.5: the median-risk patient).
        batch_size: Rows per forward call (default 1024).
        return_index: Also return the row's index in ``reference`` (default False).

    Returns:
        The row as ``[1, *S]`` (a tuple for tuple data); with ``return_index``, a pair
        ``(row, index)``.

    Raises:
        ValueError: For ``q`` outside ``[0, 1]``, empty data or NaN/inf.
        TypeError: If ``forward`` is not a SurvivalForward.

    Example:
        >>> high = risk_quantile(fwd, x_train, q=0.75)  # doctest: +SKIP
    """
    if isinstance(q, bool) or not isinstance(q, (int, float, np.floating, np.integer)):
        raise TypeError(f"q must be a number in [0, 1]; got {q!r}.")
    if not 0.0 <= float(q) <= 1.0:
        raise ValueError(f"q={q} is outside [0, 1]; pass a quantile such as 0.25, 0.5 or 0.75.")
    tensors, _, is_tuple = as_tensors(reference, "reference")
    survival = _survival_curves(forward, tensors, batch_size)
    risk = 1.0 - survival.mean(dim=1)
    order = np.argsort(risk.numpy(), kind="stable")
    position = int(np.around(float(q) * (len(order) - 1)))
    index = int(order[position])
    row = _pack([t[index : index + 1] for t in tensors], is_tuple)
    return (row, index) if return_index else row


@overload
def closest_to_mean_curve(
    forward: SurvivalForward,
    reference: DataLike,
    *,
    batch_size: int = ...,
    return_index: Literal[False] = ...,
) -> TensorOrTuple: ...


@overload
def closest_to_mean_curve(
    forward: SurvivalForward,
    reference: DataLike,
    *,
    batch_size: int = ...,
    return_index: Literal[True],
) -> tuple[TensorOrTuple, int]: ...


def closest_to_mean_curve(
    forward: SurvivalForward,
    reference: DataLike,
    *,
    batch_size: int = 1024,
    return_index: bool = False,
) -> TensorOrTuple | tuple[TensorOrTuple, int]:
    """The reference row whose predicted survival curve is closest to the cohort's mean curve.

    Distance is the Euclidean (L2) distance over the forward's time grid between the row's
    curve ``S(t_k | x_m)`` and the mean curve ``mean_m S(t_k | x_m)``; the first row wins
    ties. Survival is used whatever ``forward.output`` is, computed under ``torch.no_grad``
    in the data's dtype; distances are computed in float64.

    Args:
        forward: A :class:`~captum_surv.SurvivalForward`.
        reference: Reference data ``[N, *S]`` the forward accepts, or a tuple of them.
        batch_size: Rows per forward call (default 1024).
        return_index: Also return the row's index in ``reference`` (default False).

    Returns:
        The row as ``[1, *S]`` (a tuple for tuple data); with ``return_index``, a pair
        ``(row, index)``.

    Raises:
        ValueError: For empty data or NaN/inf.
        TypeError: If ``forward`` is not a SurvivalForward.

    Example:
        >>> typical = closest_to_mean_curve(fwd, x_train)  # doctest: +SKIP
    """
    tensors, _, is_tuple = as_tensors(reference, "reference")
    survival = _survival_curves(forward, tensors, batch_size)
    distance = (survival - survival.mean(dim=0, keepdim=True)).pow(2).sum(dim=1)
    index = int(torch.argmin(distance))
    row = _pack([t[index : index + 1] for t in tensors], is_tuple)
    return (row, index) if return_index else row


def _survival_curves(
    forward: SurvivalForward, tensors: tuple[torch.Tensor, ...], batch_size: int
) -> torch.Tensor:
    """Predicted survival ``[N, T]`` of the reference rows (as float64 on the CPU), no gradients."""
    if not isinstance(forward, SurvivalForward):
        raise TypeError(
            f"forward must be a captum_surv SurvivalForward (e.g. from_pycox(model)); got "
            f"{type(forward).__name__}."
        )
    batch_size = positive_int(batch_size, "batch_size")
    fwd = forward if forward.output == "survival" else forward.with_output("survival")
    return predict_rows(fwd, tensors, batch_size).double().cpu()


# ---------------------------------------------------------------------- images
def constant_image(inputs: DataLike, value: float | Sequence[float] = 0.0) -> TensorOrTuple:
    """A constant baseline (e.g. a black or grey image), shape ``[1, *S]``.

    Args:
        inputs: The inputs to explain, ``[B, *S]`` (e.g. images ``[B, C, H, W]``), or a
            tuple of them.
        value: The constant (default 0.0); for tuple inputs either one value for all
            tensors or one per tensor.

    Returns:
        A tensor ``[1, *S]`` filled with ``value``, in each input's dtype and device (a
        tuple for tuple inputs).

    Raises:
        ValueError: For a non-finite value or a wrong number of per-input values.

    Example:
        >>> constant_image(torch.rand(4, 1, 8, 8), value=0.5).shape
        torch.Size([1, 1, 8, 8])
    """
    tensors, _, is_tuple = as_tensors(inputs, "inputs", finite=False)
    values = _per_input(value, len(tensors), "value")
    out = []
    for t, v in zip(tensors, values, strict=True):
        if not np.isfinite(v):
            raise ValueError(f"value must be finite; got {v}.")
        out.append(torch.full_like(t[:1], v))
    return _pack(out, is_tuple)


def blurred_image(
    inputs: DataLike, sigma: float | Sequence[float] = 2.0, truncate: float = 4.0
) -> TensorOrTuple:
    """Gaussian-blurred copies of the images: a baseline with the structure removed.

    Blurs over the last two dimensions (height, width), separately for every image and
    channel, with a pure-torch separable convolution. The kernel and the boundary handling
    are those of ``scipy.ndimage.gaussian_filter(..., mode="reflect")``: weights
    ``exp(-u^2 / (2 sigma^2))`` normalised to sum 1 for ``|u| <= int(truncate * sigma + 0.5)``,
    and the image reflected about its edge (``d c b a | a b c d | d c b a``). A constant image
    is therefore left unchanged.

    Args:
        inputs: Images ``[B, H, W]``, ``[B, C, H, W]`` (any number of leading dimensions),
            or a tuple of them. For multimodal inputs build the tuple per input instead,
            e.g. ``(blurred_image(img), feature_mean(tab_train))``.
        sigma: Standard deviation of the Gaussian in pixels (default 2.0; 0 returns a
            copy); for tuple inputs one value for all or one per tensor.
        truncate: Kernel radius in standard deviations (default 4.0, as scipy).

    Returns:
        Blurred images with the inputs' shape ``[B, *S]`` (a tuple for tuple inputs).

    Raises:
        ValueError: For inputs with fewer than 3 dimensions, negative ``sigma`` or
            non-positive ``truncate``.
        TypeError: For non-floating inputs.

    Example:
        >>> blurred_image(torch.rand(4, 1, 8, 8), sigma=1.0).shape
        torch.Size([4, 1, 8, 8])
    """
    tensors, _, is_tuple = as_tensors(inputs, "inputs", floating=True, finite=False)
    sigmas = _per_input(sigma, len(tensors), "sigma")
    if not np.isfinite(truncate) or truncate <= 0:
        raise ValueError(f"truncate must be positive; got {truncate}.")
    out = []
    for i, (t, s) in enumerate(zip(tensors, sigmas, strict=True)):
        if t.dim() < 3:
            where = f"Input {i}" if is_tuple else "The input"
            raise ValueError(
                f"{where} has shape {tuple(t.shape)}; blurred_image needs images [B, H, W] or "
                "[B, C, H, W]. For tuple inputs with tabular parts, build the baseline per "
                "input, e.g. (blurred_image(img), feature_mean(tab_train))."
            )
        if not np.isfinite(s) or s < 0:
            raise ValueError(f"sigma must be >= 0 (pixels); got {s}.")
        out.append(_gaussian_blur(t, float(s), float(truncate)))
    return _pack(out, is_tuple)


def _gaussian_blur(images: torch.Tensor, sigma: float, truncate: float) -> torch.Tensor:
    if sigma == 0:
        return images.clone()
    height, width = images.shape[-2:]
    radius = int(truncate * sigma + 0.5)
    u = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (u / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(dtype=images.dtype, device=images.device)
    flat = images.reshape(-1, 1, height, width)
    rows = _reflect_index(height, radius, images.device)
    flat = F.conv2d(flat.index_select(2, rows), kernel.view(1, 1, -1, 1))
    cols = _reflect_index(width, radius, images.device)
    flat = F.conv2d(flat.index_select(3, cols), kernel.view(1, 1, 1, -1))
    return flat.reshape(images.shape)


def _reflect_index(size: int, radius: int, device: torch.device) -> torch.Tensor:
    """Indices of a length-``size`` axis padded by ``radius`` with scipy's "reflect" mode."""
    position = torch.arange(-radius, size + radius, device=device) % (2 * size)
    return torch.where(position >= size, 2 * size - 1 - position, position)


# ---------------------------------------------------------------------- helpers
def _pack(tensors: list[torch.Tensor], is_tuple: bool) -> TensorOrTuple:
    return tuple(tensors) if is_tuple else tensors[0]


def _per_input(value: Any, n_inputs: int, name: str) -> list[float]:
    if isinstance(value, (tuple, list)):
        if len(value) != n_inputs:
            raise ValueError(
                f"Got {len(value)} values of {name} for {n_inputs} input tensor(s); pass one "
                "value, or one per input tensor."
            )
        return [float(v) for v in value]
    return [float(value)] * n_inputs
