"""Ctrl-C: exit 130 with a line saying what was interrupted (never 1, which a CI gate reads as findings),
no traceback; during a run, the evidence of what ran is written and marked interrupted, and certify
seals nothing (no certificate, no ledger entry)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

from harness.cli import _command_words, _interrupt_in
from harness.session import RunInterrupted

WAIT_S = 300  # far more than a run needs to reach its first progress line and stop
POSIX_ONLY = pytest.mark.skipif(os.name == "nt", reason="Ctrl-C is delivered as SIGINT only on POSIX; Windows sends "
                                "CTRL_C_EVENT to a whole console group, which a test cannot aim at one child")


def _interrupt_when(argv: list[str], ready: str, cwd: Path) -> tuple[int, str, str]:
    """Start `hsa-cert ARGV`, send it SIGINT once its output shows `ready`; (exit code, stdout, stderr)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", *argv], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, encoding="utf-8", env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # A shell without job control starts background jobs with SIGINT ignored; the child must get the default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # POSIX only (skipped elsewhere)
    watchdog = threading.Timer(WAIT_S, process.kill)  # a child that never gets ready, or never ends, fails the test
    watchdog.start()
    out: list[str] = []
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            out.append(line)
            if ready in line:
                process.send_signal(signal.SIGINT)
                break
        rest, errors = process.communicate()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode != -signal.SIGKILL, f"killed after {WAIT_S} s: {''.join(out)[-2000:]}"
    return process.returncode, "".join(out) + rest, errors


def _no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text and "Aborted!" not in text, text[-3000:]
        assert "PluggyTeardownRaisedWarning" not in text, text[-3000:]  # the interrupt landing in Allure's hook


@pytest.mark.slow
@POSIX_ONLY
def test_ctrl_c_during_a_run_keeps_the_evidence_marked_interrupted_and_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = _interrupt_when(["run", "--out", str(out), "--seed", "7"], "scenarios (", tmp_path)
    assert code == 130, stdout[-2000:] + stderr
    _no_traceback(stdout, stderr)
    assert "interrupted (Ctrl-C) during `hsa-cert run` after" in stderr
    assert str(out / "results.json") in stderr and "run the command again" in stderr
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    run = document["run"]
    assert (run["interrupted"], run["exit_code"], run["stop_reason"]) == (True, 130, "interrupted (Ctrl-C)")
    summary = document["summary"]
    assert 0 < summary["total"] - summary["error"] < summary["total"]  # some ran, some did not
    assert (out / "junit.xml").is_file() and (out / "exchanges.jsonl").is_file()


@pytest.mark.slow
@POSIX_ONLY
def test_ctrl_c_during_certify_seals_nothing(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    code, stdout, stderr = _interrupt_when(["certify", "--no-allure", "--out", str(tmp_path / "run"), "--reports-dir",
                                            str(reports)], "scenarios (", tmp_path)
    assert code == 130, stdout[-2000:] + stderr
    _no_traceback(stdout, stderr)
    assert "interrupted (Ctrl-C) during `hsa-cert certify`" in stderr and "no ledger entry" in stderr
    assert not (reports / "ledger.sqlite").exists()
    assert not (tmp_path / "run" / "certificate.html").exists()


@pytest.mark.slow
@POSIX_ONLY
def test_ctrl_c_during_a_simple_command_exits_130_with_a_line(tmp_path: Path) -> None:
    code, stdout, stderr = _interrupt_when(["platform", "serve", "--port", "0", "--db", ":memory:"],
                                           "hsa-cert reference platform on", tmp_path)
    assert code == 130, stdout + stderr
    _no_traceback(stdout, stderr)
    assert "interrupted (Ctrl-C) during `hsa-cert platform serve`" in stderr


def test_the_interrupt_is_found_behind_the_exit_typer_makes_of_it() -> None:
    interrupt = RunInterrupted(Path("reports/x"), 3, 10)
    try:
        try:
            raise interrupt
        except KeyboardInterrupt as exc:
            raise SystemExit(130) from exc
    except SystemExit as exit_:
        assert _interrupt_in(exit_) is interrupt
    assert _interrupt_in(SystemExit(1)) is None


def test_the_interrupted_command_is_named_without_its_options() -> None:
    words = _command_words(["--specs", "specs", "ledger", "copy", "--to", "postgresql://u:pw@h/db", "--from", "x"])
    assert words == "hsa-cert ledger copy"
    assert _command_words(["run", "--out", "run"]) == "hsa-cert run"


def test_the_evidence_folder_is_named_only_when_its_results_are_there(tmp_path: Path, capsys, monkeypatch) -> None:
    from harness.cli import _interrupted

    monkeypatch.setattr(sys, "argv", ["hsa-cert", "certify", "--ledger", "postgresql://u:secret@h/db"])
    (tmp_path / "results.json").write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        _interrupted(RunInterrupted(tmp_path, 3, 10))
    assert stopped.value.code == 130
    said = capsys.readouterr().err
    assert "during `hsa-cert certify` after 3 of 10 scenarios" in said and str(tmp_path / "results.json") in said
    assert "secret" not in said
    with pytest.raises(SystemExit):  # a self-test's run folder is temporary: gone by the time this is said
        _interrupted(RunInterrupted(tmp_path / "gone", 3, 10))
    said = capsys.readouterr().err
    assert "gone" not in said and "Run the command again" in said


@POSIX_ONLY
def test_a_run_tells_ctrl_c_from_pytests_own_stops() -> None:
    from harness.session.interrupt import _noting_ctrl_c

    before = signal.getsignal(signal.SIGINT)
    with _noting_ctrl_c() as quiet:
        pass
    assert not quiet and quiet.watched  # a stop of pytest's own (a collection error, the breaker) is no interruption
    with pytest.raises(KeyboardInterrupt), _noting_ctrl_c() as pressed:
        signal.raise_signal(signal.SIGINT)
    assert pressed and pressed.noted
    assert signal.getsignal(signal.SIGINT) is before
    assert not [f for f in warnings.filters if "hookwrapper" in str(f[1])]  # the run's quieting ends with it


@POSIX_ONLY
def test_an_interrupt_that_breaks_pytests_own_report_of_it_is_still_an_interrupted_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen in CI: Ctrl-C landed where pytest's keyboard-interrupt report met a traceback entry without a line
    number (TypeError inside pytest). The run's evidence is kept and the run is interrupted, not a crash."""
    import harness.session.run as session  # where run_session looks up run_pytest

    real_run_pytest = session.run_pytest

    def broken_report(plugin: object, **kwargs: object) -> int:
        real_run_pytest(plugin, **kwargs)  # the scenario runs; then the Ctrl-C and pytest's broken report of it
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            raise TypeError("unsupported operand type(s) for -: 'NoneType' and 'int'") from None
        return 0

    monkeypatch.setattr(session, "run_pytest", broken_report)
    with pytest.raises(RunInterrupted):
        session.run_session(out=tmp_path / "run", keyword="outpatient.settle.resident-cash", seed=7,
                            alluredir=tmp_path / "allure")
    document = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))
    assert document["run"]["interrupted"] is True and document["run"]["exit_code"] == 130

    def not_an_interrupt(plugin: object, **kwargs: object) -> int:
        raise TypeError("a bug, no Ctrl-C")

    monkeypatch.setattr(session, "run_pytest", not_an_interrupt)
    with pytest.raises(TypeError, match="a bug, no Ctrl-C"):  # without a Ctrl-C it stays what it is
        session.run_session(out=tmp_path / "run2", keyword="outpatient.settle.resident-cash", seed=7,
                            alluredir=tmp_path / "allure2")


@pytest.mark.slow
@POSIX_ONLY
def test_a_client_leaving_mid_request_leaves_no_traceback_on_the_platform(tmp_path: Path) -> None:
    """What a run's Ctrl-C does to the embedded platform (and a dropped HIS to `platform serve`)."""
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "platform", "serve", "--port", str(port), "--db", ":memory:"], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # POSIX only (skipped elsewhere)
    watchdog = threading.Timer(WAIT_S, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if "hsa-cert reference platform on" in line:
                break
        for _attempt in range(600):  # until uvicorn listens (it starts after that line)
            try:
                health = urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin/health", timeout=30)
                break
            except OSError:
                threading.Event().wait(0.1)
        else:
            pytest.fail("the platform never listened")
        health.close()
        with socket.create_connection(("127.0.0.1", port)) as client:  # headers, half the body, gone
            client.sendall(b"POST /fsi/api/9001 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 1000\r\n\r\n{\"infno\": \"9001\"")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin/health", timeout=30) as after:
            assert after.status == 200  # the platform goes on serving
        process.send_signal(signal.SIGINT)
        _out, errors = process.communicate()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in errors and "ClientDisconnect" not in errors, errors
