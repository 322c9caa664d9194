"""Escaping text for the table writers: LaTeX (pdflatex, OT1/T1, no extra packages) and Markdown.

:func:`latex_escape` returns pure ASCII that pdflatex typesets as the input: LaTeX's special
characters are escaped (``&`` → ``\\&`` ...), characters that the default OT1 font encoding
would print wrongly go through math (``|`` → ``$\\mid$``, ``<`` → ``$<$``), ligatures that
would merge characters (``--``, ``''``, ``!`‘``) are broken with ``{}``, Greek letters and
symbols map to math mode (``β`` → ``$\\beta$``, ``⊕`` → ``$\\oplus$``, ``≈`` →
``$\\approx$``), accented Latin letters to text accents (``ń`` → ``\\'{n}``), and any other
non-ASCII character to a visible ``[U+XXXX]``.

:func:`markdown_escape` makes text safe inside a GitHub-flavoured Markdown table cell:
every ASCII punctuation character that can start inline markup or split a cell
(CommonMark §2.4 allows a backslash before any of them) is backslash-escaped, and line
breaks become spaces (a cell is one line).
"""

from __future__ import annotations

import unicodedata

# LaTeX: characters with a meaning, and characters OT1 typesets as something else
LATEX_ASCII = {
    "\\": r"$\backslash$", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\~{}", "^": r"\^{}",
    "|": r"$\mid$", "<": r"$<$", ">": r"$>$", '"': "{''}",
}  # fmt: skip
# non-ASCII symbols (math mode where LaTeX has no text command in the base fonts)
LATEX_SYMBOLS = {
    "⊕": r"$\oplus$", "⊗": r"$\otimes$", "≈": r"$\approx$", "±": r"$\pm$", "×": r"$\times$", "·": r"$\cdot$",
    "÷": r"$\div$", "≤": r"$\leq$", "≥": r"$\geq$", "≠": r"$\neq$", "∞": r"$\infty$", "∈": r"$\in$",
    "∑": r"$\sum$", "∏": r"$\prod$", "√": r"$\surd$", "∂": r"$\partial$", "∇": r"$\nabla$", "∝": r"$\propto$",
    "→": r"$\rightarrow$", "←": r"$\leftarrow$", "↔": r"$\leftrightarrow$", "⇒": r"$\Rightarrow$",
    "↑": r"$\uparrow$", "↓": r"$\downarrow$", "†": r"$\dagger$", "‡": r"$\ddagger$", "∼": r"$\sim$",
    "−": r"$-$", "′": r"$'$", "°": r"$^{\circ}$", "²": r"$^{2}$", "³": r"$^{3}$", "¹": r"$^{1}$",
    "µ": r"$\mu$", "–": r"\textendash{}", "—": r"\textemdash{}", "…": r"\ldots{}", "•": r"$\bullet$",
    "‘": "`{}", "’": "'{}", "“": "``{}", "”": "''{}", "§": r"$\S$", "¶": r"$\P$",
    "ß": r"\ss{}", "æ": r"\ae{}", "Æ": r"\AE{}", "œ": r"\oe{}", "Œ": r"\OE{}", "ø": r"\o{}", "Ø": r"\O{}",
    "å": r"\aa{}", "Å": r"\AA{}", "ł": r"\l{}", "Ł": r"\L{}", "ı": r"\i{}", "\u00a0": "~", "¬": r"$\neg$",
}  # fmt: skip
GREEK = {
    "alpha": "alpha", "beta": "beta", "gamma": "gamma", "delta": "delta", "epsilon": "epsilon", "zeta": "zeta",
    "eta": "eta", "theta": "theta", "iota": "iota", "kappa": "kappa", "lamda": "lambda", "mu": "mu", "nu": "nu",
    "xi": "xi", "pi": "pi", "rho": "rho", "sigma": "sigma", "final sigma": "varsigma", "tau": "tau",
    "upsilon": "upsilon", "phi": "phi", "chi": "chi", "psi": "psi", "omega": "omega",
}  # fmt: skip
# capitals with their own glyph (the others look like Latin letters)
GREEK_CAPITALS = {"gamma", "delta", "theta", "lamda", "xi", "pi", "sigma", "upsilon", "phi", "psi", "omega"}
GREEK_AS_LATIN = {"alpha": "A", "beta": "B", "epsilon": "E", "zeta": "Z", "eta": "H", "iota": "I", "kappa": "K",
                  "mu": "M", "nu": "N", "omicron": "O", "rho": "P", "tau": "T", "chi": "X"}  # fmt: skip
# combining accents -> LaTeX text accent commands
ACCENTS = {
    "\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0308": '"', "\u0303": "~", "\u0304": "=", "\u0307": ".",
    "\u0327": "c", "\u030c": "v", "\u0306": "u", "\u030a": "r", "\u030b": "H",
}  # fmt: skip
# a character followed by one of these would form a TeX ligature (-- ---, `` '', !` ?`)
LIGATURES = {"-": "-", "`": "`", "'": "'", "!": "`", "?": "`"}


def latex_escape(text) -> str:
    """``text`` as pure-ASCII LaTeX for pdflatex with no packages beyond the defaults.

    Args:
        text: any value (``str()`` of it is escaped).

    Returns:
        ASCII LaTeX source that typesets as ``text`` in text mode (see the module docstring).
    """
    out = ""
    for c in str(text):
        chunk = _latex_char(c)
        if out and out[-1] in LIGATURES and chunk.startswith(LIGATURES[out[-1]]):
            out += "{}"  # e.g. "-" before "-", "?" before the "`" of a left quote
        out += chunk
    return out


def _latex_char(c: str) -> str:
    if c in LATEX_ASCII:
        return LATEX_ASCII[c]
    if c in ("\n", "\r", "\t"):
        return " "
    if " " <= c <= "~":
        return c
    if c in LATEX_SYMBOLS:
        return LATEX_SYMBOLS[c]
    name = unicodedata.name(c, "")
    if name.startswith("GREEK SMALL LETTER ") or name.startswith("GREEK CAPITAL LETTER "):
        letter = name.split(" LETTER ", 1)[1].lower()
        if name.startswith("GREEK SMALL") and letter in GREEK:
            return f"$\\{GREEK[letter]}$"
        if name.startswith("GREEK SMALL") and letter == "omicron":
            return "$o$"
        if letter in GREEK_CAPITALS:
            return f"$\\{GREEK[letter].capitalize()}$"
        if letter in GREEK_AS_LATIN:
            return f"$\\mathrm{{{GREEK_AS_LATIN[letter]}}}$"
    base, *marks = unicodedata.normalize("NFD", c)
    if marks and " " <= base <= "~" and base.isalpha() and all(m in ACCENTS for m in marks):
        inner = {"i": r"\i", "j": r"\j"}.get(base, base) if marks[0] not in "\u0327\u0328" else base
        for m in marks:
            inner = f"\\{ACCENTS[m]}{{{inner}}}"
        return inner
    return f"[U+{ord(c):04X}]"


MARKDOWN_SPECIAL = frozenset("\\|*_`<>[]~$#!&")


def markdown_escape(text) -> str:
    """``text`` for one GitHub-flavoured Markdown table cell: ASCII punctuation that starts
    markup or splits the cell (``\\ | * _ ` < > [ ] ~ $ # ! &``) backslash-escaped (CommonMark
    §2.4), line breaks as spaces, surrounding whitespace removed."""
    text = " ".join(str(text).splitlines()).strip()
    return "".join("\\" + c if c in MARKDOWN_SPECIAL else c for c in text)
