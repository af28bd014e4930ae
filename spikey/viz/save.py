"""Saving figures atomically: write a temporary file beside the target, then rename it into place."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

#: File formats ``save`` writes, chosen by the path's suffix.
FORMATS = ("png", "svg", "pdf")


def save(fig: Figure, path: str | os.PathLike, *, dpi: float = 150, **savefig_kwargs: Any) -> Path:
    """Write ``fig`` to ``path`` (.png, .svg or .pdf) so that readers never see half a file.

    The figure goes to a temporary file in the same folder, which then
    replaces ``path`` in one ``os.replace``; on any error the temporary file is
    removed and an existing ``path`` is left as it was. Missing parent folders
    are created.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
        Target file; its suffix picks the format.
    dpi : float
        Resolution of raster formats (dots per inch).
    **savefig_kwargs
        Passed on to ``Figure.savefig`` (e.g. ``transparent=True``).

    Returns
    -------
    pathlib.Path
        The written path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(2, 1))
    >>> _ = fig.add_subplot().plot([0, 1], [1, 0])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = save(fig, pathlib.Path(folder) / "curve.png")
    ...     written.read_bytes()[:4], sorted(p.name for p in written.parent.iterdir())
    (b'\\x89PNG', ['curve.png'])
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"save: fig is a {type(fig).__name__}; expected a matplotlib Figure (the plots "
                        f"in spikey.viz return one).")
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"save: path {str(path)!r} has suffix {path.suffix!r}; expected one of "
                         f"{['.' + name for name in FORMATS]}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            fig.savefig(handle, format=fmt, dpi=dpi, **savefig_kwargs)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it owner-only; a plot is for sharing
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    return path
