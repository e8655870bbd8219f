"""The little Markdown an assistant answer needs to be read by regular expressions: its fenced
code blocks, and a same-length "prose mask" in which code and emphasis cannot confuse
sentence boundaries (so that spans found in the mask are spans in the original text)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# CommonMark fences: ``` or ~~~ (3+), optional info string; an unclosed fence runs to the end.
_FENCE = re.compile(
    r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n"
    r"(?P<code>.*?)"
    r"(?:^[ \t]{0,3}(?P=fence)[`~]*[ \t]*(?:\n|\Z)|\Z)",
    re.MULTILINE | re.DOTALL,
)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_EMPHASIS = re.compile(r"\*\*|__")


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """A fenced code block: its span in the text (fences included), code and language."""

    start: int
    end: int
    code: str
    language: str


def fenced_code_blocks(text: str) -> list[CodeBlock]:
    blocks = []
    for match in _FENCE.finditer(text):
        info = match.group("info").strip()
        language = info.split()[0].lower() if info else ""
        code = match.group("code").rstrip("\n")
        blocks.append(CodeBlock(match.start(), match.end(), code, language))
    return blocks


def prose_mask(text: str, blocks: list[CodeBlock]) -> str:
    """`text` with the same length and offsets, where fenced blocks are blank lines, inline
    code holds no sentence punctuation and `**`/`__` emphasis is blank."""
    chars = list(text)
    for block in blocks:
        chars[block.start : block.end] = "\n" * (block.end - block.start)
    masked = "".join(chars)
    masked = _INLINE_CODE.sub(lambda m: "`" + "x" * (len(m.group(0)) - 2) + "`", masked)
    return _EMPHASIS.sub(lambda m: " " * len(m.group(0)), masked)
