"""Make a large study for the DuckDB engine's bench by tiling a generated one (not a test; not in pipeline/).

``python benchmarks/duckdb_tile.py SOURCE_STUDY OUT_DIR TIMES`` writes OUT_DIR/study.yaml (the
source's, with ``engine: duckdb`` and without ``subgroups``) and each wave's CSV as TIMES copies of
the source's rows, ids prefixed ``T<k>-`` so that every copy is a new participant. It streams
line by line (constant memory), which ``impact demo --participants 10000000`` does not.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def main(source: Path, out: Path, times: int) -> None:
    out.mkdir(parents=True, exist_ok=False)
    lines = [line for line in (source / "study.yaml").read_text().splitlines() if not line.startswith("subgroups")]
    (out / "study.yaml").write_text("\n".join(lines) + "\nengine: duckdb\n")
    if (source / "instruments").is_dir():
        shutil.copytree(source / "instruments", out / "instruments")
    for csv in sorted(source.glob("*.csv")):
        with open(csv, encoding="utf-8") as handle:
            header = handle.readline()
            body = handle.readlines()
        with open(out / csv.name, "w", encoding="utf-8") as target:
            target.write(header)
            for k in range(times):
                prefix = f"T{k}-"
                target.writelines(prefix + line if line[:1] not in (",", "\n") else line for line in body)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
