"""The official ``@intacct/intacct-sdk`` (npm), unchanged, against the emulator.

``tests/thirdparty/js/scenario.js`` logs in, then creates, reads (readByQuery and query), updates and
deletes a customer and posts a journal entry; how it points the SDK at a loopback endpoint is explained
at its top. ``npm ci`` installs the locked SDK the first time.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dbt_intacct.emulator import EmulatorConfig, EmulatorServer

PROJECT = Path(__file__).parent / "js"


@pytest.fixture(scope="module")
def node_project() -> Path:
    npm = shutil.which("npm")
    assert npm and shutil.which("node"), "Node 20 and npm are needed for the JS SDK test"
    if not (PROJECT / "node_modules" / "@intacct" / "intacct-sdk").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=PROJECT, check=True, capture_output=True, timeout=300
        )
    return PROJECT


def test_official_js_sdk_runs_a_customer_scenario(node_project: Path) -> None:
    with EmulatorServer(EmulatorConfig(port=0)) as server:
        run = subprocess.run(
            ["node", "scenario.js", server.url, "T1"],
            cwd=node_project,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        seen = json.loads(run.stdout.strip().splitlines()[-1])
        records = server.admin.records()
        stats = server.admin.stats()
        url = server.url

    assert seen["badLogin"][0].startswith("XL03000006")
    assert seen["endpoint"] == url
    assert seen["sessionTimeout"].endswith("+00:00")
    assert seen["created"] == {"RECORDNO": seen["created"]["RECORDNO"], "CUSTOMERID": "JS-T1"}
    assert seen["read"]["count"] == seen["read"]["totalCount"] == 1
    assert seen["read"]["rows"] == [
        {
            "RECORDNO": seen["created"]["RECORDNO"],
            "CUSTOMERID": "JS-T1",
            "NAME": "JS customer T1",
            "DISPLAYCONTACT": {"EMAIL1": "js@example.invalid"},
        }
    ]
    assert seen["queried"] == [{"CUSTOMERID": "JS-T1", "NAME": "JS customer T1 renamed"}]
    assert seen["duplicate"][0].startswith("BL34000061")
    assert seen["journal"]["RECORDNO"]
    assert seen["deleted"] == ["success", "failure"]  # the second customer does not exist
    assert "CUSTOMER" not in records  # deleted by delete_customer
    (journal,) = records["GLBATCH"]
    assert [(line["TR_TYPE"], line["TRX_AMOUNT"]) for line in journal["ENTRIES"]["GLENTRY"]] == [
        ("1", "125.5"),
        ("-1", "125.5"),
    ]
    assert stats["api_transactions"] == 6  # create, readByQuery, update, query, journal, one delete
