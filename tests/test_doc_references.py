"""Every doc a file points to exists: `docs/<name>.md` in code, configs and docs, and relative Markdown links."""

import re
from pathlib import Path

from tests.helpers import DOCS, ROOT

DOC_MENTION = re.compile(r"\bdocs/[\w-]+\.md\b")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")  # [text](target)


def sources() -> list[Path]:
    patterns = ["README.md", "docs/*.md", "src/**/*.py", "src/**/*.yaml", "bench/*.py", "tests/*.py", "Makefile"]
    return sorted({p for pattern in patterns for p in ROOT.glob(pattern)})


def test_docs_named_in_code_configs_and_docs_exist():
    missing = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sources()
        for name in DOC_MENTION.findall(path.read_text(encoding="utf-8"))
        if not (ROOT / name).is_file()
    ]
    assert not missing, "docs that do not exist: " + "; ".join(missing)


def test_relative_markdown_links_resolve():
    broken = []
    for path in DOCS:
        for target in MD_LINK.findall(path.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a URL, or an anchor in the same page
            if not (path.parent / target.split("#")[0]).exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, "links to nothing: " + "; ".join(broken)
