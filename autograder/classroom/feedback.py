r"""Feedback HTML a learner can read offline: math as MathML, errors as one clear line or their own frames.

``nbgrader generate_feedback`` renders each autograded notebook with nbgrader's feedback template
(scores per cell and in total). :func:`configure` keeps that template and nbgrader's own feedback
preprocessors (``GetGrades`` ...), and adds two things:

* :class:`OfflineFeedbackExporter`, the exporter of ``GenerateFeedback``. Its ``markdown2html`` filter
  parses markdown with nbconvert's own math-aware parser (so a ``$`` in a code span or a code block
  stays code, and code cells are never parsed as markdown), which also accepts ``\(...\)`` and
  ``\[...\]`` with one backslash as Jupyter does, and writes each formula as MathML with
  ``latex2mathml``: browsers render MathML without any script. A formula whose MathML is not
  well-formed, or still holds a command latex2mathml did not know, is shown as LaTeX in ``<code>``.
  The HTML of every markdown cell is then cleaned by :func:`autograder.grading.sanitise.clean_html`
  (an allowlist that keeps MathML), so no learner markdown runs script. The rendered page then
  loses every script and stylesheet loaded from a URL (the template's MathJax from a CDN), the
  MathJax configuration and the template's comments.
* :class:`autograder.grading.sanitise.SanitiseLearnerOutputs`, run after CleanErrorsForLearner: the
  learner's outputs and markdown as data, also for notebooks autograded without it.
* :class:`CleanErrorsForLearner`, run on the copy of the notebook being exported (the autograded
  notebook the instructor sees is never written). A cell stopped by the time limit (the kernel's
  ``KeyboardInterrupt`` after nbclient's interrupt, nbgrader's ``CellTimeoutError``, the grader's
  ``KernelDied`` for a cell that did not finish) shows :data:`TIMEOUT_MESSAGE` instead of the
  traceback. Any other error keeps the frames of the learner's cells (``Cell In[N], line M``) and
  its ``ename: evalue`` line; frames inside libraries and the grader are dropped. In everything kept,
  and in stderr, ANSI colour codes are removed and absolute paths (the grader's machine: its home,
  site-packages, the course directory) are cut to their file name.
"""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ElementTree

import latex2mathml.converter
from bs4 import BeautifulSoup, Comment
from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath, MathBlockParser, MathInlineParser
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbgrader.converters import GenerateFeedback
from traitlets import Bool

from autograder.grading.sanitise import SanitiseLearnerOutputs, clean_html

TIMEOUT_MESSAGE = "This cell did not finish within the time limit and was stopped."
FALLBACK_CLASS = "latex-unconverted"  # class of the <code> that shows a formula latex2mathml could not convert

# -- math ---------------------------------------------------------------------------------------------
ENVIRONMENT_ALIASES = {"aligned": "split"}  # amsmath environments latex2mathml knows under another name
_ALIASED_ENVIRONMENT = re.compile(r"\\(begin|end)\{(%s)\}" % "|".join(ENVIRONMENT_ALIASES))
_MTEXT = re.compile(r"(<mtext[^>]*>)(.*?)(</mtext>)", re.S)
_TEXT_ESCAPE = re.compile(r"\\([_%&#${}])")    # \_ in \text{rel\_error} means "_"
_COMMAND = re.compile(r"\\[A-Za-z]")
# HTML needs no namespace on <math>; and nbconvert's heading anchors re-serialize a heading with
# ElementTree, which would write a namespaced <math> as <ns0:math>, an element no browser renders.
_NAMESPACE = ' xmlns="http://www.w3.org/1998/Math/MathML"'


class UnconvertibleMath(ValueError):
    """latex2mathml cannot turn this LaTeX into well-formed MathML."""


def to_mathml(latex: str, *, display: bool = False) -> str:
    """The MathML of one formula (``display`` for a formula on its own line); raises UnconvertibleMath."""
    source = _ALIASED_ENVIRONMENT.sub(lambda m: f"\\{m[1]}{{{ENVIRONMENT_ALIASES[m[2]]}}}", latex)
    try:
        mathml = latex2mathml.converter.convert(source, display="block" if display else "inline")
    except Exception as exc:  # latex2mathml has many exception types, all meaning "cannot convert this"
        raise UnconvertibleMath(f"{type(exc).__name__}: {exc}") from None
    mathml = mathml.replace(_NAMESPACE, "", 1)
    mathml = _MTEXT.sub(lambda m: m[1] + html.escape(_TEXT_ESCAPE.sub(r"\1", html.unescape(m[2])), quote=False) + m[3],
                        mathml)
    try:
        tree = ElementTree.fromstring(mathml)
    except ElementTree.ParseError as exc:  # e.g. a bare & outside a table
        raise UnconvertibleMath(f"not well-formed MathML ({exc})") from None
    unknown = [el.text for el in tree.iter() if el.tag != "mtext" and el.text and _COMMAND.search(el.text)]
    if unknown:
        raise UnconvertibleMath(f"unknown command {unknown[0].strip()}")
    return mathml


def latex_to_html(latex: str, *, display: bool = False) -> str:
    """MathML for a formula, or the LaTeX itself in ``<code>`` when it cannot be converted."""
    try:
        return to_mathml(latex, display=display)
    except UnconvertibleMath:
        return f'<code class="{FALLBACK_CLASS}">{html.escape(latex.strip(), quote=False)}</code>'


class _BlockParser(MathBlockParser):
    r"""nbconvert's block parser; ``\[ ... \]`` over several lines also stays one paragraph."""

    SPECIFICATION = {**MathBlockParser.SPECIFICATION,
                     "multiline_math": r"(?s:(?<!\\)\\\[.*?(?<!\\)\\\])|" + MathBlockParser.MULTILINE_MATH}


class _InlineParser(MathInlineParser):
    r"""nbconvert's inline parser (``$``, ``$$``, ``\\(``, ``\\[``, ``\begin``) plus ``\(...\)`` and ``\[...\]``."""

    SPECIFICATION = {**MathInlineParser.SPECIFICATION,
                     "block_math_latex1": r"(?s:(?<!\\)\\\[(?P<math_block_latex1>.*?)(?<!\\)\\\])",
                     "inline_math_latex1": r"(?s:(?<!\\)\\\((?P<math_inline_latex1>.*?)(?<!\\)\\\))"}
    DEFAULT_RULES = ("block_math_latex1", "inline_math_latex1", *MathInlineParser.DEFAULT_RULES)

    def parse_block_math_latex1(self, m, state) -> int:
        state.append_token({"type": "block_math", "raw": m.group("math_block_latex1")})
        return m.end()

    def parse_inline_math_latex1(self, m, state) -> int:
        state.append_token({"type": "inline_math", "raw": m.group("math_inline_latex1")})
        return m.end()


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with every formula written by :func:`latex_to_html`."""

    def block_math(self, body: str) -> str:
        return latex_to_html(body, display=True)

    def inline_math(self, body: str) -> str:
        return latex_to_html(body)

    def latex_environment(self, name: str, body: str) -> str:
        return latex_to_html(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)


def markdown_to_html(source: str, renderer: IPythonRenderer | None = None) -> str:
    """A markdown cell's HTML, its math as MathML."""
    renderer = renderer or MathMLRenderer(escape=False)
    return MarkdownWithMath(renderer=renderer, block=_BlockParser(), inline=_InlineParser(hard_wrap=False)).render(source)


# -- the page -----------------------------------------------------------------------------------------
_URL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.I)  # a scheme (https:, data:) or protocol-relative //


def _loads_from_url(tag) -> bool:
    url = tag.get("src") or tag.get("href") or ""
    return bool(_URL.match(url)) and not url.strip().lower().startswith("data:")


def self_contained(page: str) -> str:
    """The page without scripts or stylesheets from a URL, the MathJax configuration and HTML comments."""
    soup = BeautifulSoup(page, features="html.parser")
    for tag in soup.find_all(["script", "link"]):
        if _loads_from_url(tag) or tag.get("type") == "text/x-mathjax-config":
            tag.decompose()
    for comment in soup.find_all(string=lambda text: isinstance(text, Comment)):
        comment.extract()
    return str(soup)


class OfflineFeedbackExporter(HTMLExporter):
    """nbgrader's feedback HTML with math as MathML and nothing loaded from the network."""

    @pass_context
    def markdown2html(self, context, source):
        """As nbconvert's HTMLExporter.markdown2html (attachments, embedded images, anchors), math as MathML."""
        cell = context.get("cell", {})
        renderer = MathMLRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return clean_html(markdown_to_html(source, renderer))

    def from_notebook_node(self, nb, resources=None, **kw):
        page, resources = super().from_notebook_node(nb, resources, **kw)
        return self_contained(page), resources


# -- errors -------------------------------------------------------------------------------------------
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
# An absolute path with at least one folder, starting the text or after a space, quote, bracket, = or :
# (so "a/b", "1/2" and the // of a URL are left alone); group 1 is its file name.
_ABSOLUTE_PATH = re.compile(r"(?<![^\s'\"(\[=<,:])/(?:[^\s/'\"()<>,:;]+/)+([^\s/'\"()<>,:;]+)")
_HEADER = re.compile(r"Traceback \(most recent call last\)")
_FRAME = re.compile(r"^\s*(?:Cell In ?\[|Input In ?\[|<ipython-input-|File )")
_LEARNER_FRAME = re.compile(r"^\s*(?:Cell In ?\[|Input In ?\[|<ipython-input-)")
TIMEOUT_ENAMES = ("KeyboardInterrupt", "CellTimeoutError")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def clean_text(text: str) -> str:
    """``text`` without ANSI codes, each absolute path cut to its file name."""
    return _ABSOLUTE_PATH.sub(r"\1", strip_ansi(text))


def timed_out(output) -> bool:
    """Whether an error output says the cell was stopped by the time limit."""
    ename = output.get("ename")
    return ename in TIMEOUT_ENAMES or (ename == "KernelDied" and "did not finish" in output.get("evalue", ""))


def clean_traceback(ename: str, evalue: str, traceback: list[str]) -> list[str]:
    """The lines of an error a learner reads: the frames of their cells, then ``ename: evalue``.

    A traceback that is a message of its own (the grader's one line, an exception's
    ``_render_traceback_``) is kept whole. A SyntaxError's single entry is the learner's frame with
    the message already at its end.
    """
    entries = [strip_ansi(entry) for entry in traceback]
    if not any(_HEADER.search(entry) or _FRAME.match(entry) for entry in entries):
        return [clean_text(entry) for entry in entries] or [clean_text(f"{ename}: {evalue}")]
    kept = [entry for entry in entries if _LEARNER_FRAME.match(entry)]
    if not _LEARNER_FRAME.match(entries[-1]):
        kept.append(entries[-1] if entries[-1].lstrip().startswith(ename) else f"{ename}: {strip_ansi(evalue)}")
    return [clean_text(entry) for entry in kept]


def learner_outputs(outputs: list) -> list:
    """A code cell's outputs as the feedback shows them (see the module docstring); the input is not changed."""
    cleaned, stopped = [], False
    for output in outputs:
        kind = output.get("output_type")
        if kind == "error" and timed_out(output):
            if not stopped:  # a timeout leaves both KeyboardInterrupt and CellTimeoutError: one line for both
                cleaned.append(NotebookNode(output_type="error", ename="TimeLimit", evalue=TIMEOUT_MESSAGE,
                                            traceback=[TIMEOUT_MESSAGE]))
            stopped = True
        elif kind == "error":
            cleaned.append(NotebookNode({**output, "evalue": clean_text(output.get("evalue", "")),
                                         "traceback": clean_traceback(output.get("ename", ""), output.get("evalue", ""),
                                                                      output.get("traceback", []))}))
        elif kind == "stream" and output.get("name") == "stderr":
            cleaned.append(NotebookNode({**output, "text": clean_text(output.get("text", ""))}))
        else:
            cleaned.append(output)
    return cleaned


class CleanErrorsForLearner(Preprocessor):
    """Feedback only: each code cell's errors and stderr as :func:`learner_outputs` shows them."""

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.outputs = learner_outputs(cell.get("outputs", []))
        return cell, resources


# -- nbgrader -----------------------------------------------------------------------------------------
def configure(c) -> None:
    """Make ``nbgrader generate_feedback`` (and the formgrader's feedback) write offline, learner-clean HTML.

    ``c`` is the traitlets Config of an ``nbgrader_config.py``. nbgrader's feedback preprocessors
    (``GenerateFeedback.preprocessors``, as configured or nbgrader's default) are kept and
    CleanErrorsForLearner and SanitiseLearnerOutputs are added after them; OfflineFeedbackExporter
    becomes the exporter, still with nbgrader's feedback template.
    """
    configured = "preprocessors" in c.GenerateFeedback
    preprocessors = list(c.GenerateFeedback.preprocessors if configured else GenerateFeedback.preprocessors.default())
    for added in (CleanErrorsForLearner, SanitiseLearnerOutputs):
        if added not in preprocessors and f"{added.__module__}.{added.__qualname__}" not in preprocessors:
            preprocessors.append(added)
    c.GenerateFeedback.preprocessors = preprocessors
    c.GenerateFeedback.exporter_class = OfflineFeedbackExporter
