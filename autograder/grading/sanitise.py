"""Learner text is data: what a learner's notebook shows can be read in a browser without running anything.

A learner controls every byte of a submission except the grade cells' source: the outputs of their
cells (``display(HTML("<script>..."))``, an ``application/javascript`` output, an SVG with a script, an
``<img onerror=...>``, a ``javascript:`` link) and their markdown cells. The autograded notebook is
rendered in the instructor's formgrader session and the feedback page in the learner's browser; both
must show that text, never run it. This module is the one sanitiser both use.

* :func:`clean_html`: an allowlist, applied with bleach (which nbconvert's own ``SanitizeHTML`` and
  ``clean_html`` also use; it parses as a browser does, with html5lib). Allowed: plain formatting,
  headings, lists, tables, code, images and links with safe URLs (http, https, mailto, in-page
  anchors, relative paths; an image may also be an embedded PNG, JPEG or GIF), and MathML (the
  feedback page's math, written offline by latex2mathml). Everything else (``script``, ``style``,
  ``iframe``, ``object``, ``svg``, ``form``, event handlers, ``style`` attributes, other URL schemes) is
  escaped, so it shows as text. nbconvert's ``SanitizeHTML`` keeps too little (no table, paragraph or
  heading, no MathML) to use unchanged; this is its allowlist, widened with tags that cannot run script.
* :func:`sanitise_outputs`: each output MIME type by what a browser does with it. Text types the
  templates escape are kept; ``text/html`` is cleaned; ``text/markdown`` is rendered and cleaned into
  ``text/html`` (markdown links may carry ``javascript:``); PNG and JPEG are kept when they really are
  base64; every other type (JavaScript, SVG, widgets, PDF...) is removed, with a line of plain text
  saying so. Output metadata keeps only numeric image sizes (nbconvert writes them unquoted, and an
  ``isolated`` HTML output becomes an iframe).
* :func:`safe_markdown_source`: a learner's markdown cell that renders to anything :func:`clean_html`
  would change is shown as its own text, in a code block.
* :class:`SanitiseLearnerOutputs`: the preprocessor that applies both to a notebook (and drops the
  widget state the learner's kernel left in its metadata). It runs at autograding, after
  ``TrustedExecute``, on the autograded notebook the formgrader shows, and again on the copy that
  feedback is made from.
"""
from __future__ import annotations

import re

import bleach
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbgrader.utils import is_locked
from traitlets import Bool

from autograder.learner.api import GRADE_MIME

HTML_TAGS = frozenset({
    "a", "abbr", "acronym", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del",
    "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
})
MATHML_TAGS = frozenset({
    "math", "maction", "menclose", "merror", "mfrac", "mi", "mmultiscripts", "mn", "mo", "mover", "mpadded",
    "mphantom", "mprescripts", "mroot", "mrow", "ms", "mspace", "msqrt", "mstyle", "msub", "msubsup", "msup",
    "mtable", "mtd", "mtext", "mtr", "munder", "munderover", "none", "semantics", "annotation",
})
ALLOWED_TAGS = HTML_TAGS | MATHML_TAGS
GLOBAL_ATTRIBUTES = frozenset({"class", "id", "title", "lang", "dir"})
TAG_ATTRIBUTES = {
    "a": {"href", "name"}, "img": {"src", "alt", "width", "height"}, "table": {"border"},
    "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align", "scope"},
    "col": {"span"}, "colgroup": {"span"}, "ol": {"start", "type"}, "details": {"open"},
}
# Presentation attributes of MathML: layout and lettering only, none of them a URL or a script.
MATHML_ATTRIBUTES = frozenset({
    "accent", "accentunder", "align", "columnalign", "columnlines", "columnspacing", "columnspan", "depth",
    "display", "displaystyle", "encoding", "fence", "form", "frame", "framespacing", "height", "largeop",
    "linebreak", "linethickness", "lspace", "mathbackground", "mathcolor", "mathsize", "mathvariant", "maxsize",
    "minsize", "movablelimits", "notation", "rowalign", "rowlines", "rowspacing", "rspace", "scriptlevel",
    "separator", "stretchy", "symmetric", "voffset", "width",
})
PROTOCOLS = frozenset({"http", "https", "mailto", "data"})  # data: only for images, see _allowed_attribute
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_EMBEDDED_IMAGE = re.compile(r"^\s*data:image/(?:png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*$", re.I)

TEXT_TYPES = frozenset({"text/plain", "text/latex", "application/json", GRADE_MIME})  # escaped, or never rendered
IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
REMOVED_NOTE = "[output removed: {types} could run code in the reader's browser]"


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    """Whether ``name="value"`` may stay on ``<tag>`` (bleach also drops URLs whose scheme is not in PROTOCOLS)."""
    if name in GLOBAL_ATTRIBUTES:
        return True
    if tag in MATHML_TAGS:
        return name in MATHML_ATTRIBUTES
    if tag == "a" and name == "href":
        return not value.strip().lower().startswith("data:")
    if tag == "img" and name == "src" and value.strip().lower().startswith("data:"):
        return bool(_EMBEDDED_IMAGE.match(value))
    return name in TAG_ATTRIBUTES.get(tag, ())


_CLEANER = bleach.Cleaner(tags=ALLOWED_TAGS, attributes=_allowed_attribute, protocols=PROTOCOLS,
                          strip=False, strip_comments=True)


def clean_html(text: str) -> str:
    """``text`` as HTML that runs nothing: allowed tags kept, the rest escaped (shown as text)."""
    return _CLEANER.clean(text)


def _joined(value) -> str:
    """An output's data value as one string (nbformat may store text as a list of lines)."""
    return "".join(value) if isinstance(value, list) else str(value)


def _is_base64(value) -> bool:
    """Whether an image output is base64 text (nbconvert writes it into ``src="data:...;base64,..."``)."""
    return _BASE64.fullmatch(_joined(value)) is not None


def _markdown_html(source: str) -> str:
    """Markdown as nbconvert renders it, raw HTML and every link as written (its math left as text)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(source)


def _image_sizes(metadata: dict) -> dict:
    """Only the numeric width and height of each image type (nbconvert writes them unquoted into ``<img>``)."""
    kept = {}
    for mime in IMAGE_TYPES:
        sizes = {key: value for key, value in (metadata.get(mime) or {}).items()
                 if key in ("width", "height") and isinstance(value, (int, float)) and not isinstance(value, bool)}
        if sizes:
            kept[mime] = sizes
    return kept


def safe_data(data: dict) -> tuple[dict, list[str]]:
    """One output's ``data`` by MIME type, as a browser may show it; and the types removed."""
    kept, removed = {}, []
    for mime, value in data.items():
        if mime in TEXT_TYPES:
            kept[mime] = value
        elif mime == "text/html":
            kept[mime] = clean_html(_joined(value))
        elif mime == "text/markdown":
            kept.setdefault("text/html", clean_html(_markdown_html(_joined(value))))
        elif mime in IMAGE_TYPES and _is_base64(value):
            kept[mime] = value
        else:
            removed.append(mime)
    if removed and not kept.get("text/plain"):
        kept["text/plain"] = REMOVED_NOTE.format(types=", ".join(removed))
    return kept, removed


def sanitise_output(output) -> NotebookNode:
    """A copy of one output that runs nothing when shown (streams and errors are escaped by every template)."""
    if output.get("output_type") not in ("display_data", "execute_result", "update_display_data"):
        return NotebookNode(output)
    data, _ = safe_data(dict(output.get("data") or {}))
    return NotebookNode({**output, "data": NotebookNode(data),
                         "metadata": NotebookNode(_image_sizes(dict(output.get("metadata") or {})))})


def sanitise_outputs(outputs: list) -> list:
    """A code cell's outputs, each as :func:`sanitise_output` leaves it."""
    return [sanitise_output(output) for output in outputs]


def _longest_run(text: str, char: str) -> int:
    return max((len(m) for m in re.findall(f"{re.escape(char)}+", text)), default=0)


def as_code_block(source: str) -> str:
    """Markdown that shows ``source`` verbatim, as text in a fenced code block nothing inside can close."""
    fence = "~" * max(3, _longest_run(source, "~") + 1)
    return f"{fence} text\n{source}\n{fence}"


MARKDOWN_NOTE = ("*Shown as text: this cell held HTML or a link that could run code in the reader's browser.*"
                 "\n\n")


_SELF_CLOSING = re.compile(r"\s*/>")  # mistune writes <br />, bleach <br>: the same element


def safe_markdown_source(source: str) -> str:
    """A learner's markdown unchanged when it renders to nothing :func:`clean_html` would change, else as text."""
    rendered = _SELF_CLOSING.sub(">", _markdown_html(source))
    if clean_html(rendered) == rendered:
        return source
    return MARKDOWN_NOTE + as_code_block(source)


class SanitiseLearnerOutputs(Preprocessor):
    """Autograde, after TrustedExecute: outputs and learner markdown as data (see the module docstring).

    Code cells' outputs are sanitised (the grade cells' trusted report is plain text and JSON, kept as
    written); a markdown cell whose source the learner controls (not locked, not a grade cell) is
    shown as text when it holds anything that could run. Locked cells come from the gradebook.
    """

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)  # widget state comes from the learner's kernel; its views could run it
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.outputs = sanitise_outputs(cell.get("outputs", []))
        elif cell.cell_type == "markdown" and not is_locked(cell):
            cell.source = safe_markdown_source(cell.source)
        return cell, resources
