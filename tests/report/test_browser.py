"""The report in headless Chromium (Debian's `chromium`): it renders every plot with no console
error, the per-service selector works, and a full-page screenshot is kept as a test artefact."""

import shutil
import time

import pytest

from tests.conftest import require_command
from tests.report.browser import Browser, Page
from wotemu_runtime.cli import main as wotemu
from wotemu_testbench.synthetic import generate

RENDERED = """(() => {
  const views = [...Bokeh.index.all_views()];
  const plots = views.filter(v => v.model.type === "Figure");
  return {
    roots: Bokeh.index.roots.filter(v => (v.model.name || "").startsWith("root-")).length,
    plots: plots.length,
    finished: plots.filter(v => v.has_finished()).length,
    visible: plots.filter(v => v.el.getBoundingClientRect().width > 100).length,
  };
})()"""
EXPECTED = """[document.querySelector('meta[name="wotemu-bokeh-roots"]').content,
               document.querySelector('meta[name="wotemu-bokeh-plots"]').content].map(Number)"""
# Choose the second service in the per-task selector (its callback runs asynchronously)...
SELECT_SERVICE = """(() => {
  const select = [...Bokeh.documents[0].all_models].find(m => m.type === "Select");
  select.value = select.options[1];
  return select.value;
})()"""
# ... then the tasks that the per-task plots show.
PLOTTED_TASKS = """[...Bokeh.documents[0].all_models]
  .filter(m => m.type === "GlyphRenderer" && m.glyph.type === "MultiLine" && "task" in m.data_source.data)
  .map(m => Array.from(m.data_source.data.task))"""


@pytest.fixture(scope="module")
def chromium():
    require_command("chromium")
    return shutil.which("chromium")


def open_report(chromium, path, profile, timeout=60) -> tuple[Page, Browser, float]:
    browser = Browser(profile, chromium)
    page = Page(browser, width=1400, height=1000)
    start = time.monotonic()
    page.open(path.as_uri(), timeout=timeout)
    deadline = start + timeout
    while time.monotonic() < deadline:
        if page.evaluate(
            "typeof Bokeh !== 'undefined' && Bokeh.documents.length > 0 && Bokeh.documents[0].is_idle"
        ):
            return page, browser, time.monotonic() - start
        time.sleep(0.2)
    browser.close()
    raise AssertionError(f"{path}: Bokeh did not finish rendering in {timeout} s")


def check_rendered(page: Page) -> dict:
    roots, plots = page.evaluate(EXPECTED)
    state = page.evaluate(RENDERED)
    assert state["roots"] == roots > 0, state
    assert state["plots"] == state["finished"] == state["visible"] == plots, state
    assert page.errors() == []
    # Standalone: everything is inline, nothing was fetched (no CDN).
    fetched = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert [url for url in fetched if not url.startswith(("file:", "data:", "blob:"))] == []
    return state


def test_report_renders_without_errors(chromium, built, tmp_path, artifacts_dir):
    page, browser, _ = open_report(chromium, built[0], tmp_path / "profile")
    try:
        state = check_rendered(page)
        assert state["plots"] >= 15
        page.screenshot(artifacts_dir / "report.png")
        service = page.evaluate(SELECT_SERVICE)
        time.sleep(1)
        cpu_tasks, memory_tasks = page.evaluate(PLOTTED_TASKS)
        assert cpu_tasks == memory_tasks
        assert cpu_tasks and all(f"_{service}." in task for task in cpu_tasks), (service, cpu_tasks)
        assert page.errors() == []
    finally:
        browser.close()
    assert (artifacts_dir / "report.png").stat().st_size > 100_000


def test_sparse_report_renders_without_errors(chromium, tmp_path, artifacts_dir):
    bundle = generate(tmp_path / "bundle", interactions_n=0, events_n=0, tasks_n=12, with_traffic=False)
    assert wotemu(["report", str(bundle)]) == 0
    page, browser, _ = open_report(chromium, bundle / "report.html", tmp_path / "profile")
    try:
        check_rendered(page)
        page.screenshot(artifacts_dir / "report-sparse.png")
    finally:
        browser.close()


@pytest.mark.slow
def test_a_million_interactions_and_200_tasks(chromium, tmp_path):
    """The scale target: ≤ 30 s to build, ≤ 15 MB, and the page renders promptly."""
    bundle = generate(tmp_path / "bundle", interactions_n=1_000_000, tasks_n=200)
    start = time.monotonic()
    assert wotemu(["report", str(bundle)]) == 0
    build_seconds = time.monotonic() - start
    size = (bundle / "report.html").stat().st_size
    assert build_seconds <= 30, build_seconds
    assert size <= 15e6, size
    page, browser, render_seconds = open_report(chromium, bundle / "report.html", tmp_path / "profile")
    try:
        check_rendered(page)
    finally:
        browser.close()
    assert render_seconds <= 15, render_seconds
