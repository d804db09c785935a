"""The notebooks of the documentation run, at a tiny budget (SYMNOETHER_NOTEBOOK_BUDGET=tiny).

Each is executed in a fresh Jupyter kernel of this interpreter, from a temporary folder;
a cell that raises fails the test with its traceback. The committed notebooks keep the
outputs of a run at their default budget, for the documentation site.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "docs" / "notebooks"


@pytest.mark.parametrize("name", ["kepler.ipynb", "your_own_system.ipynb"])
def test_notebook_runs(name, tmp_path, monkeypatch):
    monkeypatch.setenv("SYMNOETHER_NOTEBOOK_BUDGET", "tiny")
    # Figures as PNG outputs whatever backend the environment chose (CI may set Agg).
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(book, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{name}: {error}")
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the plots were drawn
