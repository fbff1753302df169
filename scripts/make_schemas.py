"""Write the JSON Schemas of every document ipowner writes into data/schemas/ (generated from the model).

Run after changing a model class; tests/test_documents.py fails while the shipped files differ from what
this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ipowner.model.schema import write

if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "data" / "schemas"
    for path in write(folder):
        print(path)
