"""The report as a list of sections of simple blocks, rendered to Markdown and to self-contained HTML.

Text may hold `inline code` in backticks; both renderers understand it. Figure paths are relative to the run
folder, where report.md and report.html live: Markdown links them, HTML embeds them as data URIs.
"""

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

MIME_TYPES = {".png": "image/png", ".gif": "image/gif"}
STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}"
    "img{image-rendering:pixelated;max-width:100%}.missing{background:#fff3cd;padding:.5em}"
)


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Missing:
    """Something the run folder lacks, and the command that makes it."""

    text: str


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]


@dataclass(frozen=True)
class Figure:
    path: Path  # relative to the run folder
    caption: str


Block = Text | Missing | Table | Figure


@dataclass(frozen=True)
class Section:
    title: str
    blocks: list[Block]
    failure: str | None = None  # a file that is there but broken: the report says so, and the command exits 1


def to_markdown(title: str, sections: list[Section]) -> str:
    parts = [f"# {title}"]
    for section in sections:
        parts.append(f"## {section.title}")
        parts += [_markdown_block(block) for block in section.blocks]
    return "\n\n".join(parts) + "\n"


def _markdown_block(block: Block) -> str:
    if isinstance(block, Text):
        return block.text
    if isinstance(block, Missing):
        return f"> **Missing:** {block.text}"
    if isinstance(block, Table):
        lines = [block.header, tuple("---" for _ in block.header), *block.rows]
        return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
    return f"![{block.caption}]({block.path.as_posix()})\n\n*{block.caption}*"


def to_html(title: str, sections: list[Section], run_dir: Path) -> str:
    body = [f"<h1>{_inline_html(title)}</h1>"]
    for section in sections:
        body.append(f"<h2>{_inline_html(section.title)}</h2>")
        body += [_html_block(block, run_dir) for block in section.blocks]
    head = f'<meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style>'
    return f"<!DOCTYPE html>\n<html><head>{head}</head><body>\n" + "\n".join(body) + "\n</body></html>\n"


def _html_block(block: Block, run_dir: Path) -> str:
    if isinstance(block, Text):
        return f"<p>{_inline_html(block.text)}</p>"
    if isinstance(block, Missing):
        return f'<p class="missing"><strong>Missing:</strong> {_inline_html(block.text)}</p>'
    if isinstance(block, Table):
        header = "".join(f"<th>{_inline_html(cell)}</th>" for cell in block.header)
        rows = ["<tr>" + "".join(f"<td>{_inline_html(cell)}</td>" for cell in row) + "</tr>" for row in block.rows]
        return f"<table><tr>{header}</tr>{''.join(rows)}</table>"
    image = f'<img src="{data_uri(run_dir / block.path)}" alt="{html.escape(block.caption)}">'
    return f"<figure>{image}<figcaption>{_inline_html(block.caption)}</figcaption></figure>"


def data_uri(path: Path) -> str:
    return f"data:{MIME_TYPES[path.suffix]};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _inline_html(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
