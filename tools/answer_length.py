"""Print how long the seed answer renders on Discord (what a person reads, in characters).

Usage: HF_HUB_OFFLINE=1 .venv/bin/python tools/answer_length.py [--question Q] [--style compact|full]

Builds the real service on a temporary data dir, seeds it, asks the question and renders the
answer embed exactly as /ask shows it; prints the characters per part and in total.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    """Ask the seed question and print the rendered length of the answer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default="How fast is Kim's train?", help="the question to ask")
    parser.add_argument("--style", default=None, help="answer style to render (if supported)")
    args = parser.parse_args()

    import discord

    from bot import render
    from config.loader import load_settings
    from retrieval.cli import build_service

    with tempfile.TemporaryDirectory(prefix="citebot-len-") as tmp:
        settings = load_settings(data_dir=Path(tmp))
        service = build_service(settings)
        service.seed("len")
        answer = service.ask(args.question, "len")
        kwargs = {"style": args.style} if args.style else {}
        embed: discord.Embed = render.answer_embed(answer, asked_by="someone", **kwargs)
    parts = [("title", embed.title or ""), ("description", embed.description or "")]
    parts += [(f"field {f.name}", f"{f.name}\n{f.value}") for f in embed.fields]
    parts.append(("footer", embed.footer.text or ""))
    for name, text in parts:
        print(f"{len(text):5d}  {name[:60]}")
    total = len(embed)
    print(f"{total:5d}  total (len(embed): title, description, fields, footer)")
    print("\n".join(f"| {line}" for line in "\n".join(t for _, t in parts).splitlines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
