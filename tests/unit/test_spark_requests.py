"""`spark submit` words -> params (pure but for reading the files given), and job records."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.errors import InvalidRequest
from sparkswarm.spark.job_record import JobAsk, JobRecord, can_move, describe, record_row
from sparkswarm.spark.job_request import (
    CONFIG_LIMIT,
    build_submit_params,
    catalogue,
    catalogue_files,
    memory_mb,
    parse_conf,
)

JOBS = Path(__file__).resolve().parents[2] / "stacks" / "spark" / "jobs"


def test_the_catalogue_has_pi_wordcount_and_sql() -> None:
    assert {"pi", "wordcount", "sales_sql"} <= set(catalogue(JOBS))


def test_a_catalogue_job_takes_its_bundled_files() -> None:
    params = build_submit_params("wordcount", ["x"], stack="lab", folder=JOBS)
    assert params["script_name"] == "wordcount.py"
    assert params["args"] == ["x"]
    assert [f["name"] for f in params["files"]] == ["pride.txt"]
    text = base64.b64decode(params["files"][0]["data"]).decode()
    assert text == (JOBS / "pride.txt").read_text()
    assert params["job_id"] is None  # derived from the run: each schedule firing is a new job
    json.dumps(params)  # plain JSON: schedules and the bot store it as is


def test_files_and_options_travel_in_the_params(tmp_path: Path) -> None:
    script = tmp_path / "job.py"
    script.write_text("print(1)\n")
    data = tmp_path / "data.csv"
    data.write_bytes(b"a,b\n1,2\n")
    lib = tmp_path / "lib.zip"
    lib.write_bytes(b"PK\x03\x04")
    params = build_submit_params(
        str(script),
        executor_memory="1g",
        total_executor_cores=2,
        conf=["spark.sql.shuffle.partitions=4"],
        files=[str(data)],
        py_files=[str(lib)],
        name="mine",
    )
    assert params["conf"] == {"spark.sql.shuffle.partitions": "4"}
    assert params["executor_memory"] == "1g" and params["total_executor_cores"] == 2
    assert base64.b64decode(params["py_files"][0]["data"]) == b"PK\x03\x04"
    assert params["files"][0]["name"] == "data.csv" and params["name"] == "mine"


def test_a_file_above_the_config_limit_is_refused_with_its_size(tmp_path: Path) -> None:
    script = tmp_path / "job.py"
    script.write_text("print(1)\n")
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (CONFIG_LIMIT + 1))
    with pytest.raises(InvalidRequest, match=r"big.csv is 500 KiB; .* at most 500 KiB: put bigger"):
        build_submit_params(str(script), files=[str(big)])


@pytest.mark.parametrize(
    ("target", "kwargs", "message"),
    [
        ("nosuchjob", {}, "neither a file nor a catalogue job"),
        ("missing.py", {}, "No such file"),
        ("pi", {"executor_memory": "lots"}, "invalid memory"),
        ("pi", {"total_executor_cores": 0}, "from 1 to 100000"),
        ("pi", {"conf": ["spark.authenticate=false"]}, "set by the cluster"),
        ("pi", {"conf": ["nokey"]}, "expected key=value"),
        ("pi", {"name": "bad name"}, "invalid job name"),
    ],
)
def test_bad_submissions_are_refused(target: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        build_submit_params(target, folder=JOBS, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "mb"), [("512m", 512), ("2g", 2048), ("1024k", 1), ("1G", 1024)])
def test_memory_sizes(text: str, mb: int) -> None:
    assert memory_mb(text) == mb


def test_catalogue_files_line() -> None:
    assert catalogue_files("# sparkswarm-files: a.txt b.csv\nprint(1)\n") == ["a.txt", "b.csv"]
    assert parse_conf([]) == {}


def test_job_states_move_forward_only() -> None:
    assert can_move("SUBMITTED", "RUNNING") and can_move("RUNNING", "CANCELLED")
    assert can_move("SUBMITTED", "FAILED")
    assert not can_move("RUNNING", "SUBMITTED")
    assert not can_move("SUCCEEDED", "FAILED")
    assert not can_move("RUNNING", "RUNNING")


def _pi_record(**fields: Any) -> JobRecord:
    """The record of job ab12cd34 (pi.py on stack lab, submitted at 1000.0), ``fields`` set."""
    return JobRecord(
        id="ab12cd34",
        stack="lab",
        service="lab-job-ab12cd34",
        name="pi",
        script="pi.py",
        ask=JobAsk(cores=1, executor_memory_mb=512),
        created_at=1000.0,
        **fields,
    )


def test_a_record_is_shown_in_words() -> None:
    record = _pi_record(
        args=["4"],
        requester="ann@host",
        source="slack",
        state="FAILED",
        reason="ValueError: no",
        finished_at=1042.5,
        exit_code=1,
        output=["started"],
        master_ui="http://10.0.0.1:8080/",
    )
    text = "\n".join(describe(record))
    assert "job ab12cd34: FAILED" in text and "reason     ValueError: no" in text
    assert "after 42.5 s" in text and "ann@host (slack)" in text and "master UI" in text
    assert record_row(record)["duration"] == "42.5s"


def test_a_record_shows_exit_code_0_and_leaves_out_what_it_does_not_know() -> None:
    record = _pi_record(exit_code=0, history_ui="http://10.0.0.1:18080/")
    lines = describe(record)[6:]
    assert lines == ["  exit code  0", "  history    http://10.0.0.1:18080/"]


def test_a_schedule_captures_spark_submit_as_plain_json() -> None:
    from sparkswarm.requests import parse

    request = parse(["spark", "submit", "pi", "1000"])
    op, params = request.op, request.params
    assert op == "spark.submit"
    assert params["script_name"] == "pi.py" and params["args"] == ["1000"]
    assert params["job_id"] is None
    assert json.loads(json.dumps(params)) == params


def test_a_job_takes_the_stacks_default_cores_unless_it_asks() -> None:
    from sparkswarm.spark.jobs import JOB_CORES_LABEL, job_ask

    master = {"Spec": {"Labels": {JOB_CORES_LABEL: "2"}}}
    assert job_ask(master, {}, None, None) == JobAsk(cores=2, executor_memory_mb=512)
    assert job_ask(master, {}, 1, "1g") == JobAsk(cores=1, executor_memory_mb=1024)
    assert job_ask(master, {"spark.cores.max": "3"}, None, None).cores == 3
    assert job_ask({"Spec": {}}, {}, None, None).cores == 1
