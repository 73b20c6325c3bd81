"""The documentation's links: every relative link in README.md and docs/*.md reaches an existing file and, where it names
one, an existing heading (GitHub's anchors); the README stays a front door of at most 200 lines that links every page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
# The pages of docs/ that the README must link (issue 33).
PAGES = ("configuration", "toy-family", "real-models", "metrics", "reading-results", "scaling-laws", "distillation",
         "super-resolution", "refinement", "clusters", "gpu", "measured", "choosing-num-images", "changelog")  # fmt: skip
README_LINES = 200

LINK = re.compile(r"!?\[[^\]]*\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
EXTERNAL = ("http://", "https://", "mailto:")


def prose(text: str) -> list[str]:
    """Return the lines of Markdown `text` outside fenced code blocks (``` or ~~~, indented or not)."""
    lines, fence = [], None
    for line in text.splitlines():
        marker = line.lstrip()[:3]
        if marker in ("```", "~~~"):
            fence = None if fence == marker else (fence or marker)
        elif fence is None:
            lines.append(line)
    return lines


def links(text: str) -> list[str]:
    """Return the targets of the Markdown links and images of `text`, outside code blocks and inline code."""
    return [target for line in prose(text) for target in LINK.findall(INLINE_CODE.sub("`code`", line))]


def slug(heading: str) -> str:
    """Return GitHub's anchor of a heading's text: a link's text only, lowercase, punctuation other than hyphens and
    spaces removed (letters, digits and underscores stay), spaces turned into hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Return every heading anchor of Markdown `text`; a repeated one gets -1, -2, … as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for line in prose(text):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            out.add(base if count == 0 else f"{base}-{count}")
    return out


def problems(source: Path, text: str) -> list[str]:
    """Return one line per relative link of `text` (the contents of `source`) whose file or anchor does not exist."""
    out = []
    for target in links(text):
        if target.startswith(EXTERNAL):
            continue
        path, _, anchor = target.partition("#")
        file = (source.parent / path).resolve() if path else source
        if path and not file.exists():
            out.append(f"{source.name}: {target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text() if path else text):
            out.append(f"{source.name}: {target}: no heading #{anchor} in {file.name}")
    return out


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_reaches_an_existing_file_and_heading(doc):
    assert problems(doc, doc.read_text()) == []


def test_a_missing_file_or_heading_is_reported_and_a_good_link_is_not(tmp_path):
    (tmp_path / "page.md").write_text('# Title\n\n## Intervals and "resolved"\n')
    source = tmp_path / "README.md"
    text = (
        "[ok](page.md#intervals-and-resolved) [top](#local) [web](https://example.org/x#y)\n"
        "[gone](missing.md) [bad anchor](page.md#no-such-heading)\n"
        "`[in code](nowhere.md)`\n```\n[in a block](nowhere.md)\n```\n# Local\n"
    )
    assert problems(source, text) == [
        "README.md: missing.md: no such file",
        "README.md: page.md#no-such-heading: no heading #no-such-heading in page.md",
    ]


def test_heading_anchors_follow_githubs_rule_with_numbered_repeats():
    assert slug('Intervals and "resolved"') == "intervals-and-resolved"
    assert slug("Shipped, not trained, by default") == "shipped-not-trained-by-default"
    assert slug("What `results/{experiment}/cost/{model}/latency_b{batch}.json` contains") == (
        "what-resultsexperimentcostmodellatency_bbatchjson-contains"
    )
    assert slug("See [the page](x.md) again") == "see-the-page-again"
    assert anchors("# Setup\n## Setup\n```\n# not a heading\n```\n### Setup\n") == {"setup", "setup-1", "setup-2"}


def test_the_readme_is_a_front_door_of_at_most_200_lines():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_every_page_of_docs_exists_and_is_linked_from_the_readme():
    linked = {target.partition("#")[0] for target in links((ROOT / "README.md").read_text())}
    for page in PAGES:
        assert (ROOT / "docs" / f"{page}.md").is_file(), f"docs/{page}.md is missing"
        assert f"docs/{page}.md" in linked, f"README.md does not link docs/{page}.md"


MAKE = re.compile(r"\bmake ((?:[A-Z]+=\S+ )*)([a-z][\w-]*)")
MODULE = re.compile(r"(?:python -m |ldmscale )(ldmscale(?:\.\w+)+|plan|check|experiment|scaling)\b([^`\n|]*)")
SCRIPT = re.compile(r"python (workflow/benchmarks/\w+\.py|tests/\w+\.py)([^`\n|]*)")
CONFIG_FILE = re.compile(r"(?:--configfile |CONFIG=)((?:config|tests)/[\w./-]+\.yaml)")
CLI = {"plan": "cli", "check": "cli", "experiment": "experiment", "scaling": "scaling/__main__"}


def code(text: str) -> list[str]:
    """Return the code of Markdown `text`: the lines of its fenced blocks and its inline code spans."""
    fenced = set(text.splitlines()) - set(prose(text))
    return [line for line in text.splitlines() if line in fenced and line.lstrip()[:3] not in ("```", "~~~")] + [
        span.strip("`") for line in prose(text) for span in INLINE_CODE.findall(line)
    ]


def command_problems(text: str) -> list[str]:
    """Return one line per command of Markdown `text` that is no longer true: a make target the Makefile lacks, an
    ldmscale command or module, or one of its --flags, that the code does not define, a script or config file that
    is gone."""
    makefile = (ROOT / "Makefile").read_text()
    out = []
    for line in code(text):
        for _, target in MAKE.findall(line):
            if not re.search(rf"^{re.escape(target)}:", makefile, re.M):
                out.append(f"make {target}: no such target in the Makefile")
        for name, rest in MODULE.findall(line):
            module = CLI.get(name) or name.removeprefix("ldmscale.").replace(".", "/")
            source = ROOT / "workflow" / "ldmscale" / module
            source = source / "__main__.py" if source.is_dir() else source.with_suffix(".py")
            if not source.is_file():
                out.append(f"{name}: no module {source.relative_to(ROOT)}")
                continue
            defined = source.read_text() + (ROOT / "workflow/ldmscale/cli.py").read_text()
            out += [f"{name} {flag}: not a flag of {source.name}" for flag in re.findall(r"(--[a-z][\w-]*)", rest)
                    if f'"{flag}"' not in defined]  # fmt: skip
        for script, rest in SCRIPT.findall(line):
            if not (ROOT / script).is_file():
                out.append(f"{script}: no such script")
            elif any(f'"{flag}"' not in (ROOT / script).read_text() for flag in re.findall(r"(--[a-z][\w-]*)", rest)):
                out.append(f"{script}{rest}: a flag it does not define")
        out += [f"{path}: no such config" for path in CONFIG_FILE.findall(line) if not (ROOT / path).is_file()]
    return out


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_command_shown_names_a_target_module_flag_and_file_that_exist(doc):
    assert command_problems(doc.read_text()) == []


def test_a_command_that_is_no_longer_true_is_reported():
    text = ("```bash\nmake run\nmake deploy\n```\n`ldmscale plan config.yaml --gpus 4 --budget 3`, and make any\n"
            "```\npython -m ldmscale.nothing x\npython workflow/benchmarks/overhead.py --no-such-flag\n"
            "snakemake --configfile config/examples/missing.yaml\n```\n")  # fmt: skip
    assert sorted(command_problems(text)) == sorted(
        [
            "make deploy: no such target in the Makefile",
            "plan --budget: not a flag of cli.py",
            "ldmscale.nothing: no module workflow/ldmscale/nothing.py",
            "workflow/benchmarks/overhead.py --no-such-flag: a flag it does not define",
            "config/examples/missing.yaml: no such config",
        ]
    )
