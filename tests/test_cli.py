"""The citebot command line with the real model: contract, exit codes, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from tests.proc import run_citebot

pytestmark = pytest.mark.model

SEED_QUESTION = "How fast is Kim's train?"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_on_an_empty_knowledge_base_seeds_it_and_answers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ask", SEED_QUESTION, "--json")
    assert code == 0
    assert "seed" in err
    answer = json.loads(out)
    assert "60 km/h" in answer["answer"]
    assert "[1]" in answer["answer"]
    assert answer["abstained"] is False
    first = answer["citations"][0]
    assert first["n"] == 1
    assert "60 km/h" in first["passage"]
    assert set(answer["timings_ms"]) == {"embed", "search", "answer", "total"}
    assert set(first) == {"n", "article_id", "title", "url", "passage", "start", "end", "score"}


def test_an_unrelated_question_abstains(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "Who painted the Mona Lisa?", "--json")
    answer = json.loads(out)
    assert code == 0
    assert answer["abstained"] is True
    assert answer["citations"] == []
    assert "couldn't find" in answer["answer"]


def test_ask_dash_answers_each_stdin_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{SEED_QUESTION}\n\nWho painted the Mona Lisa?\n"))
    code, out, _ = run(capsys, "ask", "-", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [a["abstained"] for a in lines] == [False, True]


def test_plain_ask_prints_answer_then_numbered_passages(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", SEED_QUESTION)
    assert code == 0
    assert out.splitlines()[0].endswith("[1]")
    assert "\n[1] Kim Jong Un" in out


def test_add_list_remove_round_trip(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    article = tmp_path / "bees.md"
    article.write_text("# Bees\n\nHoney bees dance to tell each other where flowers are.\n", encoding="utf-8")
    code, out, _ = run(capsys, "add", str(article), "--kb", "notes")
    assert code == 0
    article_id, title, chunks, status = out.strip().split("\t")
    assert (title, chunks, status) == ("Bees", "1 chunk", "added")
    code, out, _ = run(capsys, "add", str(article), "--kb", "notes")
    assert out.strip().endswith("already present")
    code, out, _ = run(capsys, "list", "--kb", "notes", "--json")
    assert [a["id"] for a in json.loads(out)] == [article_id]
    code, out, _ = run(capsys, "remove", article_id, "--kb", "notes")
    assert code == 0
    code, out, _ = run(capsys, "list", "--kb", "notes", "--json")
    assert json.loads(out) == []


def test_a_file_added_again_after_an_edit_updates_its_article(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    note = tmp_path / "bike.txt"
    note.write_text("Genghis owned a purple bicycle named Fred.", encoding="utf-8")
    first = run(capsys, "add", str(note))[1].strip().split("\t")
    note.write_text("Genghis owned an orange bicycle named Fred.", encoding="utf-8")
    again = run(capsys, "add", str(note))[1].strip().split("\t")
    assert (again[0], again[-1]) == (first[0], "updated")
    copy = tmp_path / "copy.txt"  # the same text in another file is the article already there
    copy.write_text(note.read_text(encoding="utf-8"), encoding="utf-8")
    assert run(capsys, "add", str(copy))[1].strip().split("\t")[::3] == [first[0], "already present"]
    listed = json.loads(run(capsys, "list", "--json")[1])
    assert [a["id"] for a in listed] == [first[0]]
    answer = json.loads(run(capsys, "ask", "What colour is Fred the bicycle?", "--json")[1])
    assert "orange" in answer["answer"] and all("purple" not in c["passage"] for c in answer["citations"])


def test_add_a_directory_adds_each_supported_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "articles" / "deep"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("Owls hunt at night.", encoding="utf-8")
    (folder.parent / "b.md").write_text("Otters hold hands while sleeping.", encoding="utf-8")
    (folder / "skip.csv").write_text("x,y", encoding="utf-8")
    code, out, _ = run(capsys, "add", str(folder.parent))
    assert code == 0
    assert len(out.strip().splitlines()) == 2


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.txt", b"", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG"),
        ("table.csv", b"a,b\n1,2\n", ".csv"),
        ("latin.txt", b"\xff\xfe\x00\x00\x81\x8d\x8f", "text"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj<<>>garbage", "PDF"),
        ("script.html", b"<html><body><script>var a = 1;</script></body></html>", "no readable text"),
        ("huge.txt", b"x" * 11_000_000, "limit"),
    ],
    ids=["empty", "png-named-txt", "csv", "undecodable", "malformed-pdf", "all-script-html", "oversized"],
)
def test_bad_files_fail_with_a_message_and_store_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = run(capsys, "add", str(path))
    assert code == 1
    assert problem.lower() in err.lower()
    assert len(err.strip().splitlines()) == 1
    code, out, _ = run(capsys, "list", "--json")
    assert json.loads(out) == []


def test_a_missing_file_is_a_user_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "add", str(tmp_path / "nope.txt"))
    assert code == 1
    assert "no such file" in err


@pytest.mark.parametrize(("question", "problem"), [("  ", "empty"), ("x" * 600, "limit")])
def test_bad_questions_exit_1(capsys: pytest.CaptureFixture[str], question: str, problem: str) -> None:
    code, _, err = run(capsys, "ask", question)
    assert code == 1
    assert problem in err


def test_removing_an_unknown_id_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "remove", "nosuchid")
    assert code == 1
    assert "nosuchid" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["ask"])
    assert exc.value.code == 2


@pytest.mark.parametrize(("variable", "value"), [("CITEBOT_CHUNK__SIZE", "ten"), ("CITEBOT_DATA_DIR", " ")])
def test_a_bad_setting_names_its_variable(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    variable: str,
    value: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    code, _, err = run(capsys, "list")
    assert code == 1
    assert variable in err
    assert not list(tmp_path.iterdir())  # nothing written where it was started


def test_articles_survive_a_new_process(tmp_path: Path) -> None:
    env = {**os.environ, "CITEBOT_DATA_DIR": str(tmp_path / "shared")}
    note = tmp_path / "note.txt"
    note.write_text("The lighthouse keeper feeds the cat every morning at six.", encoding="utf-8")
    assert run_citebot(env, "add", str(note)).returncode == 0
    done = run_citebot(env, "ask", "When does the keeper feed the cat?", "--json")
    answer = json.loads(done.stdout)
    assert "six" in answer["answer"]
    assert answer["citations"][0]["title"] == "note"


def test_undecodable_input_is_refused_by_name_and_a_batch_goes_on(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    code, out, err = run(capsys, "ask", "How fast is Kim\udcffs train?")  # a stray byte from a terminal
    assert (code, out) == (1, "")
    assert err.strip().splitlines() == [
        "citebot: error: the question is not valid UTF-8 text (a stray byte at character 16)"
    ]
    lines = [
        SEED_QUESTION.encode(),
        b"How fast is Kim\xffs train?",
        b"x" * 900,
        b"Who painted the Mona Lisa?",
    ]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\n".join(lines) + b"\n")))
    code, out, err = run(capsys, "ask", "-", "--json")
    answers = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [a.get("abstained") for a in answers] == [False, None, None, True]  # one object per question
    assert "not valid UTF-8" in answers[1]["error"] and "900 characters" in answers[2]["error"]
    assert [line.split(":")[1] for line in err.splitlines() if "seed" not in line] == [" line 2", " line 3"]


def test_add_from_stdin_reads_a_legacy_encoding(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    text = "Caf\xe9 owners in Lyon open at six and serve cr\xe8me br\xfbl\xe9e on Sundays.\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("cp1252"))))
    code, out, _ = run(capsys, "add", "-", "--title", "Lyon", "--kb", "cafes")
    assert code == 0 and out.strip().endswith("added")
    code, out, _ = run(capsys, "ask", "When do cafe owners in Lyon open?", "--kb", "cafes", "--json")
    assert "Café owners in Lyon open at six" in json.loads(out)["citations"][0]["passage"]


def test_titles_and_file_names_are_stored_printable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # A Latin-1 file name (bytes that are not UTF-8), and a title holding a terminal escape.
    odd = tmp_path / os.fsdecode(b"caf\xe9 notes.txt")
    odd.write_text("Owls hunt at night in the old forest.", encoding="utf-8")
    code, _, err = run(capsys, "add", str(odd))
    assert code == 0, err
    titled = tmp_path / "t.txt"
    titled.write_text("Otters hold hands while sleeping.", encoding="utf-8")
    assert run(capsys, "add", str(titled), "--title", "Esc\x1b[2J\u202eOtters")[0] == 0
    blank = tmp_path / "Beavers.txt"
    blank.write_text("Beavers build dams across small rivers.", encoding="utf-8")
    assert run(capsys, "add", str(blank), "--title", "   ")[0] == 0
    code, out, _ = run(capsys, "list", "--json")
    titles = sorted(a["title"] for a in json.loads(out))
    assert titles == ["Beavers", "Esc[2JOtters", "caf\ufffd notes"]
    assert all(c.isprintable() for a in json.loads(out) for c in a["title"] + a["source"])
    assert "hunt at night" in run(capsys, "ask", "When do owls hunt?")[1]


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    env = {**os.environ, "CITEBOT_DATA_DIR": str(tmp_path / "data")}
    child = subprocess.Popen(
        [sys.executable, "-m", "cli", "list", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # before the command has started: its first write finds no reader
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_a_pipe_is_refused_not_read_forever(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fifo = tmp_path / "feed.txt"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "add", str(fifo))
    assert code == 1
    assert err.strip() == f"citebot: {fifo}: not a regular file"
