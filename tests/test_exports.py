"""The exports in the tools that consume them: pdflatex for LaTeX, a CommonMark + GFM-tables
parser (markdown-it-py) for Markdown; round trips of the escaping (hypothesis)."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from html.parser import HTMLParser

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from disbench.escape import ACCENTS, LATEX_ASCII, LATEX_SYMBOLS, LIGATURES, latex_escape, markdown_escape
from disbench.leaderboard import build_leaderboard
from disbench.results import RunRecord

# every character the presets use, and the ones the issue saw break the exports
TRICKY = "P(shape|x) ⊕ E(x) ≈ z; μ(x), σ², β = 4 & 50% of #2 ~ {a_b} ^ \\ $ <a> \"q\" -- ``x'' — Bińkowski"
GREEK = "αβγδεζηθικλμνξοπρστυφχψωΓΔΘΛΞΠΣΥΦΨΩΑΒ"
ACCENTED = "éèêëáàâäóòôöúùûüñçšžčńłøåæœßÉÖÇ"
# (the micro sign µ is left out: it typesets as the Greek μ, its compatibility equivalent)
ALPHABET = [chr(c) for c in range(32, 127)] + [c for c in LATEX_SYMBOLS if c != "µ"] + list(GREEK) + list(ACCENTED)


def tricky_records(seeds=(0, 1, 2)):
    rng = np.random.default_rng(0)
    out = []
    rows = [("acgan", TRICKY), ("w|x", "a | b || c"), ("beta_vae", " ".join(GREEK + ACCENTED)),
            ("Stacked GAN", "h1 = E0(x) ⊕ Q0's estimate of z0")]  # the widest real label
    for i, (name, rep) in enumerate(rows):
        for seed in seeds:
            metrics = {m: float(rng.normal(0.3 + 0.2 * i, 0.01)) for m in ("beta_vae", "factor_vae", "mig", "dci",
                                                                           "sap", "modularity")}  # fmt: skip
            metrics.update(fid=float(rng.normal(20 + i, 1)), kid=float(rng.normal(0.05, 0.01)), metric_preset="quick")
            metrics["fid.feature_scaling"] = "real z-score"  # the header carries the units
            out.append(RunRecord(run_id=f"r{i}-{seed}", kind="train", name=name, model=name, dataset="dsprites",
                                 profile="quick", seed=seed, state="completed", metrics=metrics,
                                 spec={"display_name": name.replace("_", " "), "supervision": "factor labels | none",
                                       "representation": rep}))  # fmt: skip
    for seed in seeds:
        out.append(RunRecord(run_id=f"gt-{seed}", kind="sanity", name="ground_truth", model=None, dataset="dsprites",
                             profile="-", seed=seed, state="completed", metrics={"mig": 0.9, "metric_preset": "quick"},
                             spec={"display_name": "Ground-truth factors", "representation": "the true factor values"}))
    return out


# --- LaTeX in pdflatex -------------------------------------------------------------------------
def _pdflatex(tmp_path, body: str, documentclass: str) -> str:
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-extra to run this check)")
    (tmp_path / "table.tex").write_text(body, encoding="ascii")
    (tmp_path / "doc.tex").write_text(
        f"\\documentclass{documentclass}\n\\usepackage{{booktabs}}\n"
        + ("\\usepackage{graphicx}\n" if "\\resizebox" in body else "")  # a table scaled to the column
        + "\\begin{document}\n"
        "\\input{table}\n\\end{document}\n"
    )
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert proc.returncode == 0, log[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0
    return log


@pytest.mark.parametrize(("documentclass", "seeds"), [("[twocolumn]{article}", (0, 1, 2)), ("{article}", (0, 1, 2)),
                                                      ("[twocolumn]{article}", (0,))])  # fmt: skip
def test_compact_latex_compiles_with_booktabs_only_and_fits_the_column(tmp_path, documentclass, seeds):
    tex = build_leaderboard(tricky_records(seeds)).to_latex()
    assert tex.isascii()
    log = _pdflatex(tmp_path, tex, documentclass)
    assert "Overfull \\hbox" not in log  # fits \columnwidth: 229.5 pt in two-column article
    assert "Missing character" not in log


def test_full_latex_compiles(tmp_path):
    _pdflatex(tmp_path, build_leaderboard(tricky_records()).to_latex(compact=False), "{article}")


def test_random_text_escapes_compile(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["".join(rng.choice(ALPHABET, size=40)) for _ in range(200)]
    log = _pdflatex(tmp_path, "\n\n".join(latex_escape(s) for s in lines) + "\n", "{article}")
    assert "Missing character" not in log


# --- LaTeX escaping round trip -----------------------------------------------------------------
def _latex_decode(tex: str) -> str:
    """Read back what :func:`latex_escape` wrote, token by token, as TeX would: ligatures may
    not form, ``{}`` only breaks ligatures."""
    tokens = {v: k for k, v in {**LATEX_ASCII, **LATEX_SYMBOLS}.items()}
    tokens.update({latex_escape(g): g for g in GREEK})
    accent = re.compile(r"\\([^a-zA-Z]|[a-zA-Z](?=\{))\{")
    inverse_accents = {v: k for k, v in ACCENTS.items()}
    out, i = [], 0
    while i < len(tex):
        match = max((t for t in tokens if tex.startswith(t, i)), key=len, default=None)
        if match:
            out.append(tokens[match])
            i += len(match)
            continue
        m = accent.match(tex, i)
        if m and m.group(1) in inverse_accents:  # nested accents: \'{\"{u}}
            marks, j = [], i
            while (m := accent.match(tex, j)) and m.group(1) in inverse_accents:
                marks.append(inverse_accents[m.group(1)])
                j = m.end()
            base = {"\\i": "i", "\\j": "j"}.get(tex[j : j + 2], tex[j])
            j += 2 if base in "ij" and tex[j] == "\\" else 1
            assert tex[j : j + len(marks)] == "}" * len(marks)
            out.append(unicodedata.normalize("NFC", base + "".join(reversed(marks))))
            i = j + len(marks)
            continue
        c = tex[i]
        if c == "{" and tex.startswith("{}", i):
            assert out and out[-1] in LIGATURES, "{} only breaks ligatures"
            i += 2
            continue
        assert c not in "\\{}$&%#_^~", f"unescaped {c!r} at {i} in {tex!r}"
        nxt = tex[i + 1 : i + 2]
        assert not (c in LIGATURES and nxt == LIGATURES[c]), f"ligature {c + nxt!r} would form"
        out.append(c)
        i += 1
    return "".join(out)


def _same_glyphs(text: str) -> str:
    return text.replace("’", "'").replace("‘", "`")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(ALPHABET), max_size=40))
@example("?‘")  # found by hypothesis: ? then the ` of a left quote made the ligature ¿
@example("'’ -- !`")
def test_latex_escape_round_trip(text):
    tex = latex_escape(text)
    assert tex.isascii() and "\n" not in tex
    assert len(re.findall(r"(?<!\\)\$", tex)) % 2 == 0  # math shifts pair up
    # TeX typesets ' as ’ and ` as ‘ (the same glyphs), so those pairs read back as one
    assert _same_glyphs(_latex_decode(tex)) == _same_glyphs(text)


def test_latex_escape_maps_the_issue_characters():
    assert latex_escape("P(shape|x) ⊕ E ≈ z") == r"P(shape$\mid$x) $\oplus$ E $\approx$ z"
    assert latex_escape("β-VAE μ(x)") == r"$\beta$-VAE $\mu$(x)"
    assert latex_escape("a--b") == "a-{}-b" and latex_escape("☃") == "[U+2603]"


# --- Markdown in a CommonMark + GFM-tables parser ----------------------------------------------
class _Tables(HTMLParser):
    """Rows of every HTML table: lists of cell texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _render_rows(md: str) -> list[list[str]]:
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py (the test extra) is not installed")
    parser = _Tables()
    parser.feed(markdown_it.MarkdownIt("commonmark").enable("table").render(md))
    return parser.rows


def test_markdown_table_has_the_header_cell_count_in_every_row():
    board = build_leaderboard(tricky_records())
    rows = _render_rows(board.to_markdown())
    assert len(rows) == 1 + 5  # header + 4 trained rows + 1 sanity row
    assert all(len(r) == len(rows[0]) == 3 + 8 for r in rows)
    by_model = {r[0]: r for r in rows[1:]}
    assert by_model["beta vae"][2] == " ".join(GREEK + ACCENTED)
    assert by_model["acgan"][2] == TRICKY and by_model["w|x"][2] == "a | b || c"
    assert by_model["acgan"][1] == "factor labels | none"


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30))
def test_markdown_escape_round_trip(text):
    md = f"| a | b |\n| --- | --- |\n| {markdown_escape(text)} | x |\n"
    rows = _render_rows(md)
    assert len(rows) == 2 and len(rows[1]) == 2
    assert rows[1][0] == " ".join(text.splitlines()).strip() and rows[1][1] == "x"
