"""Parse the text of a source listing page into items, without touching any file.

A listing page of the source database is text copied from a web page: a run of items, each
with a title, a submitter and a summary, and at the end a ``Subscribe to <term>`` line
naming the taxonomy term that the page lists. Items come in two layouts, sometimes mixed
on one page:

* **teaser**: the title, a blank line, ``Submitted by <name> on``, a blank line, then
  the summary paragraphs;
* **trailing**: the title, a blank line, the summary paragraphs, a blank line, then a bare
  submitter line (``Ms. Anqi ZHANG``, ``Anonymous (not verified)``), which may be
  followed at once, with no blank line, by the next item's title.

The text is cut into blocks at blank lines and at *marker* lines (a ``Submitted by`` line,
a bare submitter line, the ``Subscribe to`` line), which are recognised even when a blank
line is missing around them. A small state machine then walks the blocks and decides which
text block is a title; the rules are the small named functions below.

Copied text is often damaged (cut short, mixed line endings, invisible characters, the
wrong file altogether), so :func:`parse_listing` never raises: whatever it cannot make
sense of becomes a warning that names the file, the item and what is wrong, and every
item that can still be recovered is returned.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

#: A title longer than this is a paragraph, not a title (the longest seen is ~140).
MAX_TITLE = 250
#: Shorter than this is noise (a stray word), not a title.
MIN_TITLE = 3
#: A submitter name longer than this (or with more words) is a sentence, not a name.
MAX_NAME = 80
MAX_NAME_WORDS = 8
#: Share of control / undecodable characters above which the text is not a listing page.
MAX_BAD_SHARE = 0.10

#: Invisible characters that copy-and-paste leaves in web text; they carry no meaning here
#: and would break matching and slugs (BOM, zero-width space/joiners, word joiner, soft
#: hyphen, Mongolian vowel separator, left-to-right and right-to-left marks).
ZERO_WIDTH = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u00ad\u180e\u200e\u200f"), None)
#: Characters that end a sentence: a paragraph ending otherwise was probably cut short.
SENTENCE_END = frozenset(".!?:;…)]}\"'”’»。！？")
#: A title never ends like a sentence or a clause: this is what tells a one-line summary
#: paragraph ("In this vein, Zurich commits to:") from a title.
TITLE_BAD_END = frozenset(".:;,!?…")

HONORIFIC = (
    r"(?:Mr|Mrs|Ms|Mx|Miss|Dr|Dra|Prof|Sr|Sra|Srta|Mme|Mlle|Hon|Rev|Sir|Dame|Eng|Ing|Lic)\.?"
    r"|M\.|H\.\s?E\."
)
#: Lower-case particles that may stand inside a personal name ("Carmen de la Cruz").
NAME_PARTICLES = frozenset(
    ("de", "del", "della", "da", "das", "do", "dos", "di", "du", "la", "le", "van", "von",
     "der", "den", "ter", "y", "e", "bin", "binti", "al", "el", "ibn", "zu")
)  # fmt: skip
_HONORIFIC_NAME_RE = re.compile(rf"^(?:{HONORIFIC})\s+(?P<rest>\S.*)$")
_NOT_VERIFIED_RE = re.compile(r"^(?P<name>.*?)\s*\(\s*not verified\s*\)$", re.IGNORECASE)
_ANONYMOUS_RE = re.compile(r"^anonymous(?:\s*\(\s*not verified\s*\))?$", re.IGNORECASE)
_SUBMITTED_RE = re.compile(r"^Submitted by\b\s*(?P<rest>.*)$")
_SUBMITTED_ON_RE = re.compile(r"^(?P<who>.*?)(?:^|\s+)on(?:\s+(?P<when>.{0,60}))?$")
_SUBSCRIBE_RE = re.compile(r"^Subscribe to\s+(?P<term>\S.{0,150})$")
_GLUED_SUBSCRIBE_RE = re.compile(r"^(?P<pre>.*\S)\s*Subscribe to\s+(?P<term>\S.{0,150})$")
_NAME_TOKEN_RE = re.compile(r"^[^\W\d_][\w'’.\-]*$")
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ListingItem:
    """One item of a listing page.

    ``submitter`` is the name as shown ("Ms. Anqi ZHANG"), without any "(not verified)";
    it is None both for an anonymous item (then ``anonymous`` is True) and for an item
    whose submitter line is missing, so that a consumer can tell the two apart.
    """

    title: str
    submitter: str | None
    submitter_verified: bool
    summary: str
    position: int
    anonymous: bool = False
    #: "teaser" (a "Submitted by" line under the title) or "trailing" (a bare submitter
    #: line after the summary).
    layout: str = "teaser"
    #: 1-based line of the title in the cleaned text, for pointing a steward at it.
    line: int = 0


@dataclass(slots=True)
class ListingPage:
    """What one listing page holds: its items, its term and what went wrong reading it."""

    source: str
    items: list[ListingItem] = field(default_factory=list)
    term: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Who:
    """A submitter as written on the page."""

    name: str | None
    anonymous: bool
    verified: bool
    raw: str


@dataclass(slots=True)
class _Block:
    """A paragraph (``kind == "text"``) or a marker line, with its first line number."""

    kind: str  # "text" | "submitted" | "submitter" | "subscribe"
    lines: list[str]
    line: int
    who: _Who | None = None
    term: str | None = None


@dataclass(slots=True)
class _Draft:
    """An item being collected; frozen into a :class:`ListingItem` when it ends."""

    title: str
    line: int
    layout: str
    position: int  # 0 for a "phantom" item: a summary with no title, dropped at the end
    who: _Who | None = None
    paragraphs: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- cleaning


def normalise_line(line: str) -> str:
    """NFC, invisible characters removed, every run of whitespace (tabs, NBSP, thin
    spaces) made one space, stripped. Letters, accents and curly quotes are kept as they
    are: they are the text, and the steward wants it verbatim."""
    line = unicodedata.normalize("NFC", line.translate(ZERO_WIDTH))
    return _SPACE_RE.sub(" ", line).strip()


def _is_bad_char(ch: str) -> bool:
    """Control characters, lone surrogates and the replacement character are what binary
    data or a wrong encoding leave in text; no listing page contains them."""
    if ch == "\ufffd":
        return True
    category = unicodedata.category(ch)
    return category == "Cs" or (category == "Cc" and ch not in "\t\n\r\x0b\x0c")


def clean_lines(text: str) -> tuple[list[str], int]:
    """The text as normalised lines, and how many bad characters it held.

    ``str.splitlines`` is used because it knows every line ending (LF, CRLF, CR, and the
    Unicode separators); control characters and surrogates are dropped so that they can
    never reach a YAML file, the replacement character is kept (it marks lost text).
    """
    bad = 0
    lines: list[str] = []
    for raw in text.splitlines():
        kept = []
        for ch in raw:
            if _is_bad_char(ch):
                bad += 1
                if ch != "\ufffd":
                    continue
            kept.append(ch)
        lines.append(normalise_line("".join(kept)))
    return lines, bad


# --------------------------------------------------------------------------- heuristics


def looks_like_name(text: str, max_words: int = 4) -> bool:
    """Two to ``max_words`` capitalised words (name particles allowed between them), no
    digits: the shape of a personal name without an honorific ("Costanza Bindi"). Used
    only where a name is expected, never to decide that a line is not a title."""
    words = text.split()
    if not 2 <= len(words) <= max_words or len(text) > MAX_NAME:
        return False
    if words[0].lower() in NAME_PARTICLES or words[-1].lower() in NAME_PARTICLES:
        return False
    for word in words:
        if not _NAME_TOKEN_RE.match(word):
            return False
        if not word[0].isupper() and word.lower() not in NAME_PARTICLES:
            return False
    return True


def _who_from_name(text: str) -> _Who:
    """A submitter from the text after "Submitted by" or on a bare line."""
    text = text.strip()
    if _ANONYMOUS_RE.match(text):
        return _Who(None, True, False, text)
    m = _NOT_VERIFIED_RE.match(text)
    if m:
        name = m.group("name").strip()
        return _Who(name or None, not name, False, text)
    return _Who(text or None, False, bool(text), text)


def parse_bare_submitter(line: str) -> _Who | None:
    """A bare submitter line of the trailing layout, or None.

    Accepted are "Anonymous (not verified)", any short name followed by "(not verified)",
    and an honorific followed by a name ("Ms. Anqi ZHANG"). A bare name without honorific
    is too much like a title to be recognised on its own; see :func:`looks_like_name`.
    """
    if not line or len(line) > MAX_NAME + 20:
        return None
    if _ANONYMOUS_RE.match(line):
        return _who_from_name(line)
    m = _NOT_VERIFIED_RE.match(line)
    if m:
        name = m.group("name").strip()
        if len(name.split()) <= MAX_NAME_WORDS and (not name or name[-1] not in TITLE_BAD_END):
            return _who_from_name(line)
        return None
    m = _HONORIFIC_NAME_RE.match(line)
    if m and (looks_like_name(m.group("rest"), 4) or _single_name(m.group("rest"))):
        return _Who(line, False, True, line)
    return None


def strip_honorific(name: str) -> str:
    """ "Ms. Anqi ZHANG" -> "Anqi ZHANG"; a name without honorific is returned as it is."""
    m = _HONORIFIC_NAME_RE.match(name)
    return m.group("rest") if m else name


def _single_name(text: str) -> bool:
    """After an honorific a single capitalised word is a name too ("Dr. Okafor")."""
    return bool(_NAME_TOKEN_RE.match(text)) and text[0].isupper() and len(text) <= MAX_NAME


def parse_submitted_by(line: str) -> _Who | None:
    """The submitter of a teaser's "Submitted by <name> on [date]" line, or None if the
    line is not one.

    A sentence may start with "Submitted by" too, so the name must be short; a line cut
    before "on" is accepted only if what follows "Submitted by" is shaped like a name.
    A bare "Submitted by" (the name was lost) gives a submitter with no name.
    """
    m = _SUBMITTED_RE.match(line)
    if not m:
        return None
    rest = m.group("rest").strip()
    if not rest:
        return _Who(None, False, False, line)
    on = _SUBMITTED_ON_RE.match(rest)
    if on:
        who = on.group("who").strip()
        if len(who) > MAX_NAME + 20 or len(who.split()) > MAX_NAME_WORDS:
            return None
        return _who_from_name(who) if who else _Who(None, False, False, line)
    if parse_bare_submitter(rest) or looks_like_name(rest, 5):
        return _who_from_name(rest)
    return None


def parse_subscribe(line: str) -> str | None:
    """The term of a "Subscribe to <term>" line (the page's feed link), or None.

    A term is short and never ends with a full stop; that keeps a sentence such as
    "Subscribe to our newsletter." out."""
    m = _SUBSCRIBE_RE.match(line)
    if not m:
        return None
    term = m.group("term").strip()
    return None if term.endswith(".") else term


def looks_like_title(text: str) -> bool:
    """A single short line of at least two words, not starting in lower case and not
    ending like a sentence or clause (no final . : ; , ! ?), and not a marker line.

    That is what every title on the source pages looks like, and what summary paragraphs
    almost never look like: they are sentences, end with a full stop or a colon, or run
    over several lines."""
    if not MIN_TITLE <= len(text) <= MAX_TITLE or "\n" in text:
        return False
    if text[-1] in TITLE_BAD_END or len(text.split()) < 2:
        return False
    if text[0].isalpha() and text[0].islower():
        return False
    return not is_marker(text)


def is_marker(line: str) -> bool:
    """A line that is never part of a paragraph: Submitted by, bare submitter, Subscribe."""
    return bool(parse_submitted_by(line) or parse_bare_submitter(line) or parse_subscribe(line))


def ends_like_sentence(paragraph: str) -> bool:
    """Summaries on the pages end with a full stop or a colon (a teaser cut before a
    list); anything else suggests the text was cut mid-sentence."""
    return bool(paragraph) and paragraph[-1] in SENTENCE_END


def looks_binary(text: str, bad: int) -> bool:
    """More than a tenth of control or undecodable characters: not text at all (an image,
    an archive, a file in the wrong encoding), so trying to find items would only invent
    them."""
    visible = sum(1 for ch in text if not ch.isspace())
    return bad >= 3 and visible > 0 and bad / visible > MAX_BAD_SHARE


# --------------------------------------------------------------------------- blocks


def _split_glued_subscribe(lines: list[str]) -> None:
    """Put a "Subscribe to <term>" glued to the end of the last line on a line of its own.

    Only the last non-blank line is looked at: the feed link is the page's footer, and a
    "Subscribe to" inside the text is just text."""
    for index in range(len(lines) - 1, -1, -1):
        if not lines[index]:
            continue
        line = lines[index]
        if parse_subscribe(line) is None:
            m = _GLUED_SUBSCRIBE_RE.match(line)
            if m and not m.group("term").endswith("."):
                term_line = "Subscribe to " + m.group("term")
                lines[index : index + 1] = [m.group("pre").strip(), term_line]
        return


def _blocks(lines: list[str]) -> list[_Block]:
    """Cut the lines into paragraphs at blank lines and around marker lines."""
    blocks: list[_Block] = []
    current: list[str] = []
    start = 0

    def flush() -> None:
        if current:
            blocks.append(_Block("text", list(current), start))
            current.clear()

    for number, line in enumerate(lines, 1):
        if not line:
            flush()
            continue
        submitted = parse_submitted_by(line)
        bare = None if submitted else parse_bare_submitter(line)
        term = None if submitted or bare else parse_subscribe(line)
        if submitted:
            flush()
            blocks.append(_Block("submitted", [line], number, who=submitted))
        elif bare:
            flush()
            blocks.append(_Block("submitter", [line], number, who=bare))
        elif term:
            flush()
            blocks.append(_Block("subscribe", [line], number, term=term))
        else:
            if not current:
                start = number
            current.append(line)
    flush()
    return blocks


# --------------------------------------------------------------------------- parser


class _Parser:
    """The state machine over blocks; one instance per page."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.page = ListingPage(source=source)
        self.current: _Draft | None = None
        self.positions = 0

    # -- reporting

    def warn_item(self, draft: _Draft, message: str) -> None:
        label = f'"{_short(draft.title)}"' if draft.title else "(untitled)"
        self.page.warnings.append(
            f"{self.source}: item {draft.position} {label} (line {draft.line}): {message}"
        )

    def warn_line(self, line: int, message: str) -> None:
        self.page.warnings.append(f"{self.source}: line {line}: {message}")

    # -- items

    def start(self, title: str, line: int, layout: str) -> _Draft:
        self.finish()
        self.positions += 1
        self.current = _Draft(title=title, line=line, layout=layout, position=self.positions)
        return self.current

    def start_phantom(self, line: int) -> None:
        """A "Submitted by" with no title before it: collect its summary so that it is not
        glued to the previous item, and drop it when it ends."""
        self.finish()
        self.current = _Draft(title="", line=line, layout="teaser", position=0)

    def finish(self) -> None:
        draft, self.current = self.current, None
        if draft is None:
            return
        if not draft.title:
            self.warn_line(
                draft.line,
                "a 'Submitted by' line with no title before it; its item was skipped",
            )
            return
        if not draft.paragraphs:
            self.warn_item(draft, "has no summary (the text may be cut off)")
        elif not ends_like_sentence(draft.paragraphs[-1]):
            self.warn_item(draft, "the summary seems cut off mid-sentence")
        who = draft.who
        if who is None:
            self.warn_item(draft, "has no submitter line; the submitter is unknown")
        elif who.name is None and not who.anonymous:
            self.warn_item(draft, "its 'Submitted by' line has no name; the submitter is unknown")
        if len(draft.title) > MAX_TITLE:
            self.warn_item(draft, f"the title is longer than {MAX_TITLE} characters")
        self.page.items.append(
            ListingItem(
                title=draft.title,
                submitter=who.name if who else None,
                submitter_verified=bool(who and who.verified),
                summary="\n\n".join(draft.paragraphs),
                position=draft.position,
                anonymous=bool(who and who.anonymous),
                layout=draft.layout,
                line=draft.line,
            )
        )

    def add_paragraph(self, block: _Block, lines: list[str] | None = None) -> None:
        text = "\n".join(block.lines if lines is None else lines)
        if self.current is None:
            self.warn_line(block.line, f"text outside any item was ignored: {_short(text)!r}")
        else:
            self.current.paragraphs.append(text)

    # -- the walk

    def run(self, blocks: list[_Block]) -> None:
        index = 0
        while index < len(blocks):
            block = blocks[index]
            after = blocks[index + 1] if index + 1 < len(blocks) else None
            if block.kind == "text":
                if after is not None and after.kind == "submitted":
                    self.teaser_title(block, after)
                    index += 2
                    continue
                self.text(block, after)
            elif block.kind == "submitted":
                self.start_phantom(block.line)
            elif block.kind == "submitter":
                self.submitter(block)
            else:
                self.subscribe(block)
            index += 1
        self.finish()

    def teaser_title(self, block: _Block, submitted: _Block) -> None:
        """The block right before "Submitted by" is a title, whatever it looks like: that
        is the teaser layout. If the block has several lines (a blank line is missing),
        its last line is the title and the others belong to the previous item."""
        if len(block.lines) > 1:
            self.add_paragraph(block, block.lines[:-1])
        draft = self.start(block.lines[-1], block.line + len(block.lines) - 1, "teaser")
        draft.who = submitted.who

    def text(self, block: _Block, after: _Block | None) -> None:
        current = self.current
        if current is None:
            self.title_after_boundary(block)
            return
        if not current.paragraphs:
            # An item's first paragraph after its title (or "Submitted by") is its summary.
            current.paragraphs.append("\n".join(block.lines))
            return
        if self.bare_name_then_title(block, after):
            return
        text = "\n".join(block.lines)
        if looks_like_title(text) and self.title_can_follow(current, after):
            self.start(text, block.line, "trailing")
            return
        current.paragraphs.append(text)

    @staticmethod
    def title_can_follow(current: _Draft, after: _Block | None) -> bool:
        """Where a title-shaped paragraph after an item's summary starts the next item.

        Followed by a paragraph: the trailing layout (title, then summary). At the end of
        the text or right before "Subscribe to": a title whose item was cut off. Followed
        by a bare submitter line when the item before already has its submitter: an item
        with no summary. Only a trailing item still waiting for its submitter line keeps a
        title-shaped last paragraph, as its summary may simply end without a full stop.
        """
        if after is None or after.kind in ("text", "subscribe"):
            return True
        return after.kind == "submitter" and current.who is not None

    def title_after_boundary(self, block: _Block) -> None:
        """At the start of the page or after a bare submitter line, the next paragraph is a
        title if it is a single line of title length (the trailing layout puts the
        next title right there); a longer paragraph there is text that lost its item."""
        first = block.lines[0]
        if len(first) <= MAX_TITLE and not (first[-1] in ".!?" and len(first.split()) > 12):
            draft = self.start(first, block.line, "trailing")
            if len(block.lines) > 1:
                self.warn_item(
                    draft, "no blank line after the title; the lines after it were read as summary"
                )
                self.add_paragraph(block, block.lines[1:])
            return
        self.add_paragraph(block)

    def bare_name_then_title(self, block: _Block, after: _Block | None) -> bool:
        """A trailing item still waiting for its submitter, and a paragraph whose first
        line is shaped like a name without honorific: the submitter line, with the next
        title glued under it, or alone at the end of the page."""
        current = self.current
        if current is None or current.layout != "trailing" or current.who is not None:
            return False
        first = block.lines[0]
        if not looks_like_name(first):
            return False
        if len(block.lines) == 2 and looks_like_title(block.lines[1]):
            current.who = _Who(first, False, True, first)
            self.start(block.lines[1], block.line + 1, "trailing")
            return True
        if len(block.lines) == 1 and (after is None or after.kind == "subscribe"):
            current.who = _Who(first, False, True, first)
            self.finish()
            return True
        return False

    def submitter(self, block: _Block) -> None:
        """A bare submitter line ends the item it follows (trailing layout)."""
        who = block.who
        current = self.current
        if current is None or who is None:
            self.warn_line(
                block.line, f"submitter line {block.lines[0]!r} does not follow an item; ignored"
            )
            return
        if current.who is None:
            current.who = who
        elif (current.who.name, current.who.anonymous) != (who.name, who.anonymous):
            self.warn_item(
                current,
                f"is 'Submitted by {current.who.raw}' but is followed by the submitter line"
                f" {who.raw!r}; kept the first",
            )
        self.finish()

    def subscribe(self, block: _Block) -> None:
        self.finish()
        if self.page.term is None:
            self.page.term = block.term
        elif block.term != self.page.term:
            self.warn_line(
                block.line,
                f"a second 'Subscribe to' line names {block.term!r}; kept {self.page.term!r}",
            )


def _short(text: str, limit: int = 60) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_listing(text: str, source: str) -> ListingPage:
    """Parse the text of one listing page. Never raises: problems become warnings.

    ``source`` names the file in every warning.
    """
    try:
        return _parse(text, source)
    except Exception as exc:  # pragma: no cover - a bug, but a page must never crash a run
        page = ListingPage(source=source)
        page.warnings.append(
            f"{source}: could not be read as a listing page ({type(exc).__name__}: {exc});"
            " nothing was imported from it"
        )
        return page


def _parse(text: str, source: str) -> ListingPage:
    if not isinstance(text, str):
        raise TypeError("parse_listing needs text (str)")
    lines, bad = clean_lines(text)
    if looks_binary(text, bad):
        page = ListingPage(source=source)
        page.warnings.append(
            f"{source}: does not look like a listing page ({bad} control or undecodable"
            " characters); nothing was imported from it"
        )
        return page
    parser = _Parser(source)
    if bad:
        parser.page.warnings.append(
            f"{source}: {bad} control or undecodable characters were dropped or marked"
        )
    if not any(lines):
        parser.page.warnings.append(f"{source}: is empty; no items")
        return parser.page
    _split_glued_subscribe(lines)
    blocks = _blocks(lines)
    if any(b.kind == "subscribe" for b in blocks) and blocks[-1].kind != "subscribe":
        last = max(i for i, b in enumerate(blocks) if b.kind == "subscribe")
        parser.warn_line(blocks[last + 1].line, "text after the page's 'Subscribe to' line")
    parser.run(blocks)
    page = parser.page
    if page.term is None:
        page.warnings.append(
            f"{source}: no 'Subscribe to <term>' line at the end: the page's term is unknown"
            " (the file may be cut short)"
        )
    if not page.items:
        page.warnings.append(f"{source}: no items were found")
    return page
