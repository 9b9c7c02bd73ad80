"""The README's test command is exactly what CI runs."""

from __future__ import annotations

from tests.conftest import REPO


def test_ci_runs_the_readme_test_command():
    ci_lines = (REPO / ".ci" / "run").read_text().strip().splitlines()
    command = ci_lines[-1]
    readme = (REPO / "README.md").read_text()
    tests_section = readme.split("## Tests", 1)[1].split("##", 1)[0]
    assert f"```bash\n{command}\n```" in tests_section
