"""The RST bits of our numpydoc docstrings, as Markdown for the docs site.

Docstrings stay numpydoc/RST (they are read in terminals and by Sphinx-based tools too);
the site renders Markdown. Used by ``scripts/gen_docs.py`` and, as a griffe extension
(``RstToMarkdown``), by mkdocstrings when it renders the API reference.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_MATH_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<first>.*)\n"
                         r"(?P<rest>(?:(?P=indent)[ \t]+.*\n?|[ \t]*\n(?=(?P=indent)[ \t]+\S))*)",
                         re.MULTILINE)


def convert(text: str) -> str:
    """``.. math::`` blocks to ``$$``, ``:math:`x``` to ``$x$``, ````code```` to ```code```."""

    def block(m: re.Match[str]) -> str:
        lines = [m.group("first"), *m.group("rest").splitlines()]
        body = "\n".join(line.strip() for line in lines if line.strip())
        ind = m.group("indent")
        return f"{ind}$$\n{ind}{body}\n{ind}$$\n"

    text = _MATH_BLOCK.sub(block, text)
    text = re.sub(r":math:`([^`]+)`", r"$\1$", text)
    text = re.sub(r":(?:func|class|mod|meth|attr):`~?([^`]+)`", r"`\1`", text)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def first_formula(text: str) -> str | None:
    m = _MATH_BLOCK.search(text)
    if not m:
        return None
    return convert(m.group(0)).strip()


class RstToMarkdown(griffe.Extension):  # type: ignore[misc]
    """Converts every docstring mkdocstrings renders."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        if getattr(obj, "docstring", None) is not None:
            obj.docstring.value = convert(obj.docstring.value)
