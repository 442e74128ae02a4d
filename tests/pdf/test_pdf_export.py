"""export_zip: N valid PDFs from a lazy iterable, bounded read-ahead, safe names, no partial zip."""

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pypdf
import pytest

from app.pdf import export_zip, render_appraisal_pdf
from app.pdf.export import ExportError, _EntryNames
from app.pdf.sample import sample_snapshot

ROOT = Path(__file__).resolve().parents[2]


def test_parallel_export_writes_one_valid_pdf_per_snapshot(tmp_path):
    snapshots = [(f"E{i:03d}-{s['employee']['name']}", s)
                 for i, s in enumerate(sample_snapshot(i) for i in range(6))]
    calls = []
    path = tmp_path / "cycle.zip"
    count = export_zip(iter(snapshots), path, workers=2, total=6,
                       progress=lambda done, total: calls.append((done, total)))
    assert count == 6 and calls == [(i, 6) for i in range(1, 7)]
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [f"{name}.pdf" for name, _ in snapshots]
        for name, snapshot in snapshots:
            pdf = archive.read(f"{name}.pdf")
            reader = pypdf.PdfReader(io.BytesIO(pdf))
            assert snapshot["employee"]["name"] in reader.pages[0].extract_text()
        # A worker renders exactly what this process renders.
        assert archive.read(f"{snapshots[0][0]}.pdf") == render_appraisal_pdf(snapshots[0][1])
    assert not (tmp_path / "cycle.zip.part").exists()


def test_reads_the_iterable_lazily(tmp_path):
    """With 2 workers and chunks of 1, at most 2 × 2 chunks are in flight: when the first PDF is
    written, only a handful of the 10 snapshots have been read."""
    pulled = []

    def snapshots():
        for i in range(10):
            pulled.append(i)
            yield f"p{i}", sample_snapshot(i)

    read_at_first_write = []
    export_zip(snapshots(), tmp_path / "lazy.zip", workers=2, chunksize=1,
               progress=lambda done, _total: read_at_first_write.append(len(pulled)))
    assert read_at_first_write[0] <= 5
    assert len(pulled) == 10


def test_names_are_flat_and_unique():
    names = _EntryNames()
    entries = [names.add(n) for n in ["../../etc/evil", "a/b\\c", "王建国", "王建国", "", "con:*?"]]
    assert entries == ["etc_evil.pdf", "a_b_c.pdf", "王建国.pdf", "王建国-2.pdf", "appraisal.pdf",
                       "con.pdf"]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_broken_snapshot_names_its_entry_and_leaves_no_zip(tmp_path, workers):
    good = sample_snapshot()
    broken = {k: v for k, v in good.items() if k != "lines"}
    path = tmp_path / "bad.zip"
    with pytest.raises(ExportError, match="E002: SnapshotError: snapshot lacks lines"):
        export_zip([("E001", good), ("E002", broken), ("E003", good)], path, workers=workers)
    assert list(tmp_path.iterdir()) == []


def test_workers_that_cannot_start_fail_the_export_instead_of_hanging(tmp_path):
    """A script read from stdin cannot be re-imported by a forkserver worker. The export must
    raise (BrokenProcessPool) rather than respawn workers forever, and leave no file."""
    script = (f"from app.pdf import export_zip\nfrom app.pdf.sample import sample_snapshot\n"
              f"export_zip([('a', sample_snapshot())] * 2, {str(tmp_path / 'x.zip')!r}, workers=2)\n")
    result = subprocess.run([sys.executable, "-"], input=script, text=True, capture_output=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode != 0 and "BrokenProcessPool" in result.stderr
    assert list(tmp_path.iterdir()) == []
