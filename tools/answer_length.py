"""Print how long the seed answer renders on Discord (what a person reads, in characters).

Usage: HF_HUB_OFFLINE=1 .venv/bin/python -m tools.answer_length [--question Q]

Builds the real service on a temporary data dir, seeds it, asks the question and renders the
answer exactly as /ask shows it, in each answer style (compact, the default, and full) and as
plain text (channels without Embed Links); prints the characters per part and in total.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def main() -> int:
    """Ask the seed question and print the rendered length of the answer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default="How fast is Kim's train?", help="the question to ask")
    args = parser.parse_args()

    from bot.compact import STYLES, answer_text, styled_embed
    from config.loader import load_settings
    from retrieval.compose import build_service

    with tempfile.TemporaryDirectory(prefix="citebot-len-") as tmp:
        settings = load_settings(data_dir=Path(tmp))
        with build_service(settings) as service:
            service.seed("len")
            answer = service.ask(args.question, "len")
    for style in STYLES:
        embed = styled_embed(answer, style, asked_by="someone")
        parts = [("title", embed.title or ""), ("description", embed.description or "")]
        parts += [(f"field {f.name}", f"{f.name}\n{f.value}") for f in embed.fields]
        parts.append(("footer", embed.footer.text or ""))
        print(f"== {style} embed")
        for name, text in parts:
            print(f"{len(text):5d}  {name[:60]}")
        print(f"{len(embed):5d}  total (len(embed): title, description, fields, footer)")
        print("\n".join(f"| {line}" for line in "\n".join(t for _, t in parts).splitlines()))
    text = answer_text(answer, asked_by="someone")
    print(f"== plain text (no Embed Links)\n{len(text):5d}  total")
    print("\n".join(f"| {line}" for line in text.splitlines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
