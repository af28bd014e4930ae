"""The tutorial notebook runs headless from top to bottom (nbclient), its sweep on the session's Ray."""
import os
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_tutorial_notebook_runs_without_errors(ray_session):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(EXAMPLES / "tutorial.ipynb", as_version=4)
    # The kernel attaches to this session's Ray instance (one per test session) instead of starting its own.
    # (the suite runs matplotlib on Agg; the kernel uses the notebook backend, which embeds figures)
    env = {"RAY_ADDRESS": ray_session, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                         resources={"metadata": {"path": str(EXAMPLES)}})
        client.execute()  # raises CellExecutionError naming the failing cell
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    outputs = "\n".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
                        for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs)
    assert "best trial: mean accuracy" in outputs
    images = sum("image/png" in o.get("data", {}) for cell in notebook.cells if cell.cell_type == "code"
                 for o in cell.outputs)
    assert images >= 3  # learning curve, raster, weight histogram
