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
line is missing around them (:mod:`.listing_lines`). A small state machine then walks the
blocks and decides which text block is a title; the rules are its small named methods.

Copied text is often damaged (cut short, mixed line endings, invisible characters, the
wrong file altogether), so :func:`parse_listing` never raises: whatever it cannot make
sense of becomes a warning that names the file, the item and what is wrong, and every
item that can still be recovered is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .listing_lines import (
    MAX_TITLE,
    Block,
    Who,
    clean_lines,
    ends_like_sentence,
    looks_binary,
    looks_like_name,
    looks_like_title,
    split_blocks,
    split_glued_subscribe,
)


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


@dataclass(slots=True)
class _Draft:
    """An item being collected; frozen into a :class:`ListingItem` when it ends."""

    title: str
    line: int
    layout: str
    position: int  # 0 for a "phantom" item: a summary with no title, dropped at the end
    who: Who | None = None
    paragraphs: list[str] = field(default_factory=list)


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

    def add_paragraph(self, block: Block, lines: list[str] | None = None) -> None:
        text = "\n".join(block.lines if lines is None else lines)
        if self.current is None:
            self.warn_line(block.line, f"text outside any item was ignored: {_short(text)!r}")
        else:
            self.current.paragraphs.append(text)

    # -- the walk

    def run(self, blocks: list[Block]) -> None:
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

    def teaser_title(self, block: Block, submitted: Block) -> None:
        """The block right before "Submitted by" is a title, whatever it looks like: that
        is the teaser layout. If the block has several lines (a blank line is missing),
        its last line is the title and the others belong to the previous item."""
        if len(block.lines) > 1:
            self.add_paragraph(block, block.lines[:-1])
        draft = self.start(block.lines[-1], block.line + len(block.lines) - 1, "teaser")
        draft.who = submitted.who

    def text(self, block: Block, after: Block | None) -> None:
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
    def title_can_follow(current: _Draft, after: Block | None) -> bool:
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

    def title_after_boundary(self, block: Block) -> None:
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

    def bare_name_then_title(self, block: Block, after: Block | None) -> bool:
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
            current.who = Who(first, False, True, first)
            self.start(block.lines[1], block.line + 1, "trailing")
            return True
        if len(block.lines) == 1 and (after is None or after.kind == "subscribe"):
            current.who = Who(first, False, True, first)
            self.finish()
            return True
        return False

    def submitter(self, block: Block) -> None:
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

    def subscribe(self, block: Block) -> None:
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
    split_glued_subscribe(lines)
    blocks = split_blocks(lines)
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
