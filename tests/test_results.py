"""`make results` (bench/results.py): tables parsed from printed Markdown, documents rendered
from results/, and README.md / docs/benchmarks.md in step with what results/ holds."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("results_driver", ROOT / "bench" / "results.py")
assert _spec is not None and _spec.loader is not None
results = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(results)

PRINTED = """42 encodes
| measure | value |
|---|---|
| rank | 0.991 |
| ratio | 1.76 (0.91-2.23) |

then prose with a | pipe in it
| a | b |
|:---|---:|
| 1 | 2 |
"""


def test_markdown_tables_are_read_from_printed_text() -> None:
    assert results.markdown_tables(PRINTED) == [
        {"columns": ["measure", "value"], "rows": [["rank", "0.991"], ["ratio", "1.76 (0.91-2.23)"]]},
        {"columns": ["a", "b"], "rows": [["1", "2"]]},
    ]


def _record(tables: list[dict]) -> dict:
    return {"part": "demo", "commit": "0123456789abcdef", "modified": False, "date": "2026-11-23 10:00 UTC",
            "machine": {"cores": 2, "cpu": "x", "arch": "x86_64", "python": "3.11"}, "minutes": 1.5,
            "tables": tables}


def test_blocks_are_filled_with_the_named_table_and_its_stamp() -> None:
    record = _record(results.markdown_tables(PRINTED))
    text = "intro\n<!-- results demo 2 -->\nstale | table\n<!-- /results -->\noutro\n"
    rendered = results.render(text, {"demo": record})
    assert rendered.startswith("intro\n<!-- results demo 2 -->\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "`make results PARTS=demo` at 0123456, 2026-11-23 10:00 UTC, 2 cores x86_64" in rendered
    assert "stale" not in rendered and rendered.endswith("<!-- /results -->\noutro\n")
    assert results.render(rendered, {"demo": record}) == rendered  # rendering is idempotent


def test_a_part_without_results_says_so() -> None:
    rendered = results.render("<!-- results other 1 -->\n| old |\n<!-- /results -->\n", {})
    assert rendered == ("<!-- results other 1 -->\n*Not run at this commit: `make results PARTS=other`.*\n"
                        "<!-- /results -->\n")


def test_a_table_the_part_does_not_have_is_refused() -> None:
    with pytest.raises(SystemExit, match="has 2 tables"):
        results.render("<!-- results demo 3 -->\n<!-- /results -->\n",
                       {"demo": _record(results.markdown_tables(PRINTED))})


def test_combined_csv_has_one_row_per_cell(tmp_path: Path) -> None:
    results.write_combined({"demo": _record(results.markdown_tables(PRINTED))}, tmp_path)
    lines = (tmp_path / "results.csv").read_text().splitlines()
    assert lines[0] == "part,table,row,column,value,commit,date,cores,cpu"
    assert len(lines) == 1 + 4 + 2
    assert lines[1] == "demo,1,1,measure,rank,0123456789ab,2026-11-23 10:00 UTC,2,x"


def test_every_part_runs_a_script_that_exists() -> None:
    parts = results.load_parts()
    assert parts, "no parts in bench/results"
    for part in parts.values():
        assert part.minutes > 0 and part.commands
        for command in part.commands:
            scripts = [word for word in command if word.endswith(".py")]
            assert all((ROOT / script).is_file() for script in scripts), (part.name, scripts)


def test_documents_show_exactly_what_results_holds() -> None:
    records = results.collect()
    for document in results.DOCUMENTS:
        text = document.read_text()
        shown = {match["part"] for match in results.BLOCK.finditer(text)}
        assert shown <= set(results.load_parts()), document
        assert results.render(text, records) == text, (
            f"{document.name} differs from results/: run `python bench/results.py --render-only`")
