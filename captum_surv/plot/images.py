"""Image inputs (alone or with tabular ones): heat maps of pixel attributions at chosen
times on one shared colour scale."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from captum_surv.plot._labels import method_name, output_label, time_titles
from captum_surv.plot._style import new_panels
from captum_surv.plot._utils import (
    ExplanationLike,
    check_expl,
    grid_times,
    instance_index,
    time_indices,
)


def _image_input(expl: ExplanationLike, input: int | None) -> int:
    xs = expl.inputs if isinstance(expl.inputs, tuple) else (expl.inputs,)
    shapes = [tuple(x.shape[1:]) for x in xs]
    images = [n for n, x in enumerate(xs) if x.dim() in (3, 4)]
    described = ", ".join(f"[B, {', '.join(str(s) for s in shape)}]" for shape in shapes)
    if input is None:
        if not images:
            raise ValueError(
                "image_attributions needs an image input ([B, H, W] or [B, C, H, W]), but "
                f"this explanation's inputs are {described} (tabular); use "
                "attribution_curves or importance for tabular features."
            )
        return images[0]
    if isinstance(input, bool) or not isinstance(input, (int, np.integer)):
        raise TypeError(f"input must be the index of an input tensor; got {input!r}.")
    if not 0 <= input < len(xs):
        raise ValueError(f"input={input} is out of range; the explanation has {len(xs)} inputs.")
    if input not in images:
        raise ValueError(
            f"Input {input} has shape [B, {', '.join(str(s) for s in shapes[input])}], not an "
            "image ([B, H, W] or [B, C, H, W])."
        )
    return int(input)


def _picture(x: np.ndarray) -> tuple[np.ndarray, str | None]:
    """An input image ``[H, W]`` or ``[C, H, W]`` as something ``imshow`` can show."""
    if x.ndim == 2:
        return x, "gray_r"
    if x.shape[0] == 3:
        rgb = np.moveaxis(x, 0, -1)
        lo, hi = rgb.min(), rgb.max()
        return (rgb - lo) / (hi - lo) if hi > lo else np.zeros_like(rgb), None
    return x.mean(axis=0), "gray_r"


def image_attributions(
    expl: ExplanationLike,
    instance: int = 0,
    times: float | Sequence[float] | None = None,
    *,
    n_times: int = 4,
    input: int | None = None,
    channel: int | Literal["sum"] = "sum",
    overlay: bool = False,
    alpha: float = 0.9,
    show_input: bool = True,
    cmap: str = "RdBu_r",
    vmax: float | None = None,
    ncols: int | None = None,
    tol: float | None = None,
    fig: Figure | SubFigure | None = None,
    axes: Sequence[Axes] | None = None,
    time_label: str | None = None,
    title: str | None = None,
) -> tuple[Figure | SubFigure, np.ndarray]:
    """Heat maps of image attributions at chosen time points, on one shared colour scale.

    One panel per selected time shows the attributions of the image input (also one member
    of tuple inputs, e.g. image + tabular covariates) for one instance, summed over colour
    channels (attributions are additive, so the sum is the pixel's attribution). The
    diverging colour map is centred at 0 and all panels share the limits
    ``[-m, m]``, ``m`` the largest ``|attribution|`` over the shown panels, so colours
    compare across time. One colour bar serves all panels.

    Args:
        expl: The explanation.
        instance: Instance index. Default 0.
        times: Time values (original units); nearest grid times are used. Default None:
            ``n_times`` grid points spread evenly.
        n_times: Number of panels when ``times`` is None. Default 4.
        input: Index of the image tensor among tuple inputs. Default None: the first input
            with shape ``[B, H, W]`` or ``[B, C, H, W]``.
        channel: ``"sum"`` (default) over channels, or one channel index.
        overlay: Draw the heat map over the (faded) image, each pixel's opacity
            ``alpha * sqrt(|attribution| / m)``: the image shows through where attributions
            are small. Default False.
        alpha: Largest heat map opacity when ``overlay``. Default 0.9.
        show_input: Add a first panel with the input image. Default True.
        cmap: Diverging colour map. Default ``"RdBu_r"`` (red positive, blue negative).
        vmax: Colour limit ``m`` (the scale is ``[-m, m]``). Default None: the largest
            ``|attribution|`` over the shown panels. Pass the same value to several calls
            (e.g. two patients) to make their colours comparable.
        ncols: Panels per row. Default: all in one row up to 6.
        tol: Largest accepted distance from a requested time to its grid time. Default
            None: half the adjacent grid spacing.
        fig: Figure to draw into. Default None: a new figure.
        axes: Existing axes, one per panel (input panel first), instead of ``fig``.
        time_label: Unit shown in the panel titles (``"t = 3 years"``). Default none.
        title: Figure title. Default: method and instance.

    Returns:
        ``(fig, axes)``, an array of the panels' axes. Each heat map is an ``AxesImage``
        with ``gid="attribution"``.

    Raises:
        ValueError: For explanations without an image input (tabular inputs, or
            aggregated ones), instance out of range, times off the grid.

    Example:
        >>> plot.image_attributions(expl, 0, times=[1, 2, 5], overlay=True)  # doctest: +SKIP
    """
    check_expl(expl)
    n = _image_input(expl, input)
    i = instance_index(expl, instance)
    ks = time_indices(expl, times, n_times, tol)
    xs = expl.inputs if isinstance(expl.inputs, tuple) else (expl.inputs,)
    attrs = expl.attributions if isinstance(expl.attributions, tuple) else (expl.attributions,)
    x = xs[n][i].double().numpy()
    a = attrs[n][i].double().numpy()[ks]  # [m, *S]
    if x.ndim == 3:
        if channel == "sum":
            a = a.sum(axis=1)
        elif isinstance(channel, (int, np.integer)) and not isinstance(channel, bool):
            if not 0 <= channel < x.shape[0]:
                raise ValueError(f"channel={channel} is out of range for {x.shape[0]} channels.")
            a = a[:, int(channel)]
        else:
            raise ValueError(f"channel must be 'sum' or a channel index; got {channel!r}.")
    picture, picture_cmap = _picture(x)
    if vmax is None:
        limit = float(np.abs(a).max()) or 1e-12
    elif isinstance(vmax, bool) or not (np.isfinite(vmax) and vmax > 0):
        raise ValueError(f"vmax must be a positive number (the colour limit); got {vmax!r}.")
    else:
        limit = float(vmax)
    n_panels = len(ks) + int(show_input)
    per_row = ncols or min(n_panels, 6)
    rows = math.ceil(n_panels / per_row)
    fig, panels = new_panels(
        n_panels, fig, axes, (2.3 * min(n_panels, per_row) + 1.2, 2.4 * rows + 0.5), ncols=per_row
    )
    titles = time_titles(grid_times(expl)[ks], time_label)
    heat = None
    offset = 0
    if show_input:
        panels[0].imshow(picture, cmap=picture_cmap, interpolation="nearest")
        panels[0].set_title("input", fontsize="small")
        offset = 1
    for m, title in enumerate(titles):
        ax = panels[offset + m]
        if overlay:
            ax.imshow(picture, cmap=picture_cmap, alpha=0.5, interpolation="nearest")
        heat = ax.imshow(
            a[m],
            cmap=cmap,
            vmin=-limit,
            vmax=limit,
            # over the image: opacity grows with |attribution|, so the image shows through
            # where the attributions are small
            alpha=alpha * np.sqrt(np.minimum(np.abs(a[m]) / limit, 1.0)) if overlay else None,
            interpolation="nearest",
            gid="attribution",
        )
        ax.set_title(title, fontsize="small")
    for ax in panels:
        ax.set_xticks([])
        ax.set_yticks([])
    if heat is not None:
        fig.colorbar(heat, ax=panels, shrink=0.85, label=f"attribution to {output_label(expl)}")
    fig.suptitle(title if title is not None else f"{method_name(expl)}, instance {i}")
    return fig, np.asarray(panels, dtype=object)
