"""The design documents in ``docs/`` answer every citation in the code: ``storage-layout.md §5.6`` names a heading.

Comments cite the design as ``<name>.md §<number>`` (``reliability.md §5.2``, ``storage-layout.md §5.4 step 3``);
further numbers on the same line after one name (``storage-layout.md §2.3, §3.4``) cite the same document. Each
citation must find ``docs/<name>.md`` and a Markdown heading in it that starts with that number, so a reader who
follows a comment lands on the section that explains it. A ``§`` with no document named before it on its line is
refused: its reader could not tell which document it means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
SCANNED = ("durable_storage", "tests", "benchmarks", "samples")
SUFFIXES = frozenset({".py", ".json", ".md", ".txt", ".toml", ".cfg", ".ini"})
_TOKEN = re.compile(r"(?:[\w.-]+/)*(?P<doc>[a-z][a-z0-9-]*)\.md|§\s?(?P<section>\d+(?:\.\d+)*)")
_HEADING = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)*)[.\s]", re.MULTILINE)
_PATH = re.compile(r"`(\w[\w./-]*(?:\.(?:py|json|md)|/))`")
_APP_FILES = frozenset({"function_app.py", "function.json", "host.json", "local.settings.json"})
# Where the reference documents lived before docs/ existed; none of it ships with the repository.
_OUTSIDE = re.compile(r"\.\./shared/|/work/shared|shared/reference|steering/")


@dataclass(frozen=True)
class Citation:
    path: Path
    line: int
    doc: str | None
    section: str

    def __str__(self) -> str:
        doc = f"{self.doc}.md" if self.doc else "(no document named)"
        return f"{self.path.relative_to(REPO)}:{self.line}: {doc} §{self.section}"


def citations_in(path: Path) -> list[Citation]:
    """The ``§`` citations of one file, each with the document named before it on its line."""
    found = []
    text = path.read_text(encoding="utf-8").replace("\\u00a7", "§")  # JSON files escape it
    for number, line in enumerate(text.splitlines(), start=1):
        doc = None
        for match in _TOKEN.finditer(line):
            if match["doc"]:
                doc = match["doc"]
            else:
                found.append(Citation(path, number, doc, match["section"]))
    return found


def all_citations() -> list[Citation]:
    files = (p for top in SCANNED for p in sorted((REPO / top).rglob("*")) if p.suffix in SUFFIXES and p.is_file())
    return [c for p in files if "__pycache__" not in p.parts and p != Path(__file__) for c in citations_in(p)]


def headings(doc: str) -> set[str]:
    path = DOCS / f"{doc}.md"
    return set(_HEADING.findall(path.read_text(encoding="utf-8"))) if path.is_file() else set()


def test_every_citation_names_a_document_and_a_heading_of_it() -> None:
    citations = all_citations()
    assert len(citations) > 250, "the scanner found almost no citations: is the pattern still right?"
    unresolved = [c for c in citations if c.doc is None or c.section not in headings(c.doc)]
    assert not unresolved, "citations with no heading in docs/:\n" + "\n".join(map(str, unresolved))


def test_the_scanner_reads_lists_and_refuses_a_bare_section(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("# a (storage-layout.md §5.6 step 2, §2.4 and §10)\n# b (§3)\n# see docs/api.md §1.\n")
    assert [(c.doc, c.section) for c in citations_in(sample)] == [
        ("storage-layout", "5.6"),
        ("storage-layout", "2.4"),
        ("storage-layout", "10"),
        (None, "3"),
        ("api", "1"),
    ]


def test_every_file_the_documents_name_exists() -> None:
    # A path in backticks names a file of the repository (from its root, or inside durable_storage/), so a rename
    # that leaves the design documents behind fails here. The app files a Functions app has are not ours.
    missing = [
        f"{doc.name}: {name}"
        for doc in sorted(DOCS.glob("*.md"))
        for name in _PATH.findall(doc.read_text(encoding="utf-8"))
        if name not in _APP_FILES and not any((base / name).exists() for base in (REPO, REPO / "durable_storage", DOCS))
    ]
    assert not missing, "files the documents name that do not exist:\n" + "\n".join(missing)


def test_no_path_outside_the_repository_is_cited() -> None:
    tops = [REPO / top for top in (*SCANNED, "docs")]
    files = [p for top in tops for p in sorted(top.rglob("*")) if p.suffix in SUFFIXES and p.is_file()]
    files += [p for p in sorted(REPO.iterdir()) if p.is_file() and p.suffix in {*SUFFIXES, "", ".yml"}]
    leaks = [
        str(p.relative_to(REPO))
        for p in files
        if p != Path(__file__) and "__pycache__" not in p.parts and _OUTSIDE.search(p.read_text("utf-8", "replace"))
    ]
    assert not leaks, f"paths to documents users never see: {leaks}"


def test_the_readme_points_at_the_design_documents() -> None:
    assert "docs/README.md" in (REPO / "README.md").read_text(encoding="utf-8")
