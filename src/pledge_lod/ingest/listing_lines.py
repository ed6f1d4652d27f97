"""The lines of a listing page: cleaned, recognised, and cut into blocks.

Copied web text is cleaned line by line (invisible characters, odd spaces, control
characters); each line is then recognised for what it can be (a ``Submitted by`` line, a
bare submitter line, the ``Subscribe to <term>`` footer, something shaped like a title or
a name); and the lines are cut into :class:`Block` s at blank lines and around the marker
lines, which are recognised even when a blank line is missing around them. What the blocks
mean, item by item, is decided by :mod:`.listing_page`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

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
class Who:
    """A submitter as written on the page."""

    name: str | None
    anonymous: bool
    verified: bool
    raw: str


@dataclass(slots=True)
class Block:
    """A paragraph (``kind == "text"``) or a marker line, with its first line number."""

    kind: str  # "text" | "submitted" | "submitter" | "subscribe"
    lines: list[str]
    line: int
    who: Who | None = None
    term: str | None = None


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


def _who_from_name(text: str) -> Who:
    """A submitter from the text after "Submitted by" or on a bare line."""
    text = text.strip()
    if _ANONYMOUS_RE.match(text):
        return Who(None, True, False, text)
    m = _NOT_VERIFIED_RE.match(text)
    if m:
        name = m.group("name").strip()
        return Who(name or None, not name, False, text)
    return Who(text or None, False, bool(text), text)


def parse_bare_submitter(line: str) -> Who | None:
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
        return Who(line, False, True, line)
    return None


def strip_honorific(name: str) -> str:
    """ "Ms. Anqi ZHANG" -> "Anqi ZHANG"; a name without honorific is returned as it is."""
    m = _HONORIFIC_NAME_RE.match(name)
    return m.group("rest") if m else name


def _single_name(text: str) -> bool:
    """After an honorific a single capitalised word is a name too ("Dr. Okafor")."""
    return bool(_NAME_TOKEN_RE.match(text)) and text[0].isupper() and len(text) <= MAX_NAME


def parse_submitted_by(line: str) -> Who | None:
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
        return Who(None, False, False, line)
    on = _SUBMITTED_ON_RE.match(rest)
    if on:
        who = on.group("who").strip()
        if len(who) > MAX_NAME + 20 or len(who.split()) > MAX_NAME_WORDS:
            return None
        return _who_from_name(who) if who else Who(None, False, False, line)
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


def split_glued_subscribe(lines: list[str]) -> None:
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


def split_blocks(lines: list[str]) -> list[Block]:
    """Cut the lines into paragraphs at blank lines and around marker lines."""
    blocks: list[Block] = []
    current: list[str] = []
    start = 0

    def flush() -> None:
        if current:
            blocks.append(Block("text", list(current), start))
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
            blocks.append(Block("submitted", [line], number, who=submitted))
        elif bare:
            flush()
            blocks.append(Block("submitter", [line], number, who=bare))
        elif term:
            flush()
            blocks.append(Block("subscribe", [line], number, term=term))
        else:
            if not current:
                start = number
            current.append(line)
    flush()
    return blocks
