"""The bad-input corpus: every file fails with its key path, line and a useful message.

Each file under bad/ states what it expects in `# expect: <path>: <message start>` lines.
"""

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wotemu_runtime.topology.errors import TopologyError
from wotemu_runtime.topology.loader import MAX_BYTES
from wotemu_runtime.topology.validate import validate_file

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((Path(__file__).parent / "bad").glob("*.yml"))
# Files a hostile user might write: parser bombs, values the platform would refuse, escapes.
HOSTILE = sorted((Path(__file__).parent / "hostile").glob("*.yml"))


def _expectations(path: Path) -> list[str]:
    return [
        line.removeprefix("# expect: ").strip()
        for line in path.read_text().splitlines()
        if line.startswith("# expect: ")
    ]


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 25
    assert len(HOSTILE) >= 40


@pytest.mark.parametrize(
    "path", CORPUS + HOSTILE, ids=[f"{p.parent.name}/{p.stem}" for p in CORPUS + HOSTILE]
)
def test_bad_topology_is_rejected_with_path_and_message(path: Path):
    expected = _expectations(path)
    assert expected, f"{path.name} states no expectation"
    started = time.monotonic()
    with pytest.raises(TopologyError) as info:
        validate_file(path, base_dir=ROOT)
    assert time.monotonic() - started < 1.0, "validation must answer within a second"
    lines = str(info.value).splitlines()
    for expectation in expected:
        matching = [line for line in lines if f": {expectation}" in line]
        assert matching, f"expected {expectation!r} among:\n" + "\n".join(lines)
        assert all(line.startswith(f"{path}:") for line in matching)  # file and line number first
        assert all(
            line.split(":")[1].isdigit() for line in matching if not expectation.startswith("(document)")
        )


def test_every_problem_is_reported_at_once():
    with pytest.raises(TopologyError) as info:
        validate_file(Path(__file__).parent / "bad" / "several_errors.yml", base_dir=ROOT)
    assert len(info.value.problems) == 3


def test_errors_carry_the_line_of_the_offending_key():
    with pytest.raises(TopologyError) as info:
        validate_file(Path(__file__).parent / "bad" / "unknown_network_ref.yml", base_dir=ROOT)
    assert str(info.value).startswith(f"{Path(__file__).parent / 'bad' / 'unknown_network_ref.yml'}:5: ")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.yml"
    path.write_text("")
    with pytest.raises(
        TopologyError, match="the file is empty; expected a mapping with `networks` and `nodes`"
    ):
        validate_file(path)


def test_ten_megabyte_file_is_refused_quickly(tmp_path):
    path = tmp_path / "huge.yml"
    path.write_text("networks:\n" + "  - {name: n}\n" * (10 * 1024 * 1024 // 14 + 1))
    assert path.stat().st_size >= 10 * 1024 * 1024
    with pytest.raises(TopologyError, match=f"limited to {MAX_BYTES} bytes"):
        validate_file(path)


def test_binary_file(tmp_path):
    path = tmp_path / "binary.yml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TopologyError, match=r"not UTF-8 text"):
        validate_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(TopologyError, match="cannot read the file: No such file or directory"):
        validate_file(tmp_path / "nope.yml")


def test_cli_exits_1_lists_problems_and_writes_nothing(tmp_path):
    out = tmp_path / "stack.yml"
    bad = Path(__file__).parent / "bad" / "several_errors.yml"
    result = subprocess.run(
        [sys.executable, "-m", "wotemu_runtime", "compose", str(bad), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 3
    assert not out.exists()


def test_cli_validate_reports_each_file(tmp_path):
    bad = Path(__file__).parent / "bad" / "zero_scale.yml"
    result = subprocess.run(
        [sys.executable, "-m", "wotemu_runtime", "validate", "topologies/quickstart.yml", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "topologies/quickstart.yml: ok" in result.stdout
    assert "nodes[0].scale" in result.stderr


def _limit_memory():
    limit = 1024**3  # the alias bomb took 4.4 GB before the loader bounded it
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_hostile_corpus_from_the_cli_in_bounded_memory_without_a_traceback():
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "wotemu_runtime", "validate", *map(str, HOSTILE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        preexec_fn=_limit_memory,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert time.monotonic() - started < len(HOSTILE)
    for path in HOSTILE:
        assert any(line.startswith(f"{path}:") for line in result.stderr.splitlines()), path.name
