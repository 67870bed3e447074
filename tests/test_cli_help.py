"""The command line explains itself and refuses bad input before the model loads (no model needed)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cli import articles
from cli.main import build_parser, main
from retrieval.models import Citation


def parser() -> argparse.ArgumentParser:
    """Return the full parser, Discord commands included (as the console script builds it)."""
    return build_parser()


def subcommands(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Return every sub-command's parser by name."""
    [sub] = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to load the model."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded before the input was checked")

    monkeypatch.setattr(articles, "build_service", refuse)


def test_every_argument_of_every_command_has_help() -> None:
    commands = subcommands(parser())
    assert {"add", "ask", "list", "remove", "refresh", "eval", "bench", "serve", "sync", "invite"} <= set(
        commands
    )
    for name, sub in commands.items():
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"citebot {name}: {action.dest} has no help"


@pytest.mark.parametrize("argv", [["--help"], ["ask", "--help"], ["sync", "--help"]])
def test_help_lists_the_exit_codes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)

    out = capsys.readouterr().out
    assert done.value.code == 0
    assert "exit codes:" in out
    for code in ("0 ", "1 ", "2 ", "130"):
        assert f"\n  {code}" in out


@pytest.mark.usefixtures("no_model")
@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["ask", "   "], "the question is empty"),
        (["ask", "x" * 600], "the question is 600 characters long; the limit is 500"),
        (["ask", "How fast?", "--k", "50"], "--k must be between 1 and 20, not 50"),
        (["ask", "-", "--k", "0"], "--k must be between 1 and 20, not 0"),
    ],
)
def test_bad_questions_are_refused_before_the_model_loads(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)

    assert code == 1
    assert capsys.readouterr().err == f"citebot: error: {problem}\n"


@pytest.mark.usefixtures("no_model")
def test_missing_files_are_refused_before_the_model_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["add", str(tmp_path / "nope.txt"), str(tmp_path / "gone.md")])

    assert code == 1
    assert capsys.readouterr().err.splitlines() == [
        f"citebot: {tmp_path / 'nope.txt'}: no such file or directory",
        f"citebot: {tmp_path / 'gone.md'}: no such file or directory",
    ]


def test_the_citation_line_shows_the_url_or_says_there_is_none() -> None:
    pasted = Citation(1, "a1", "Pasted notes", None, "text", 0, 4, 1.352)
    fetched = Citation(2, "u2", "A page", "https://example.org/page", "text", 10, 14, 0.9)

    assert articles.citation_line(pasted) == "[1] Pasted notes (no URL, chars 0-4, score 1.352)"
    assert (
        articles.citation_line(fetched) == "[2] A page (https://example.org/page, chars 10-14, score 0.900)"
    )
