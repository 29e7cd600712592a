"""The README's curl examples, run as written against a server process set up like ``make run``.

Only the port differs (a free one instead of 8000). Every curl must get a 2xx answer: the block runs
under ``set -e`` with curl wrapped in ``--fail-with-body``, so a changed route, field or scope in the
README fails here instead of on a reader's first try.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO_ROOT
from tests.support.server import run_cli, running_server, server_env

pytestmark = pytest.mark.e2e

README = REPO_ROOT / "README.md"
DEV_KEYS = {"dev-key": ["agent", "platform", "product", "admin"]}  # what `make run` configures


def curl_block() -> str:
    section = README.read_text(encoding="utf-8").split("## Try it with curl", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the README lost its curl block"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_curl_examples_work_verbatim(tmp_path_factory: pytest.TempPathFactory) -> None:
    block = curl_block()
    assert block.count("curl ") >= 10 and "127.0.0.1:8000" in block
    data_dir = tmp_path_factory.mktemp("readme-data")
    env = server_env(data_dir, DEV_KEYS)
    ingest = run_cli("kb", "ingest", "examples/kb", env=env)
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    with running_server(env, data_dir / "server.log") as base:
        script = 'set -e\ncurl() { command curl --fail-with-body --max-time 120 "$@"; echo; }\n' + block.replace(
            "http://127.0.0.1:8000", base
        )
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"a README example failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    out = done.stdout
    # A few answers that only the real thing gives: hits from the demo KB, the chat carried into the
    # voice call's context, the article added, metrics exposed.
    assert '"document_id"' in out and '"promo-winter"' in out and "txassist_" in out
    voice_turn = next(line for line in out.splitlines() if '"call-7"' in line)
    assert '"conv-1"' in voice_turn
