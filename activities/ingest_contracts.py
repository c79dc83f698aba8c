"""Input and output models of DataSpider's workflow and activity (plain pydantic, no I/O).

New fields must have defaults, so recorded histories still decode.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FeedFormat = Literal["auto", "rss", "json"]


class FeedSource(BaseModel):
    """One feed to ingest: an http(s) URL or a local file, RSS/Atom or JSON.

    ``aliases`` (symbol → names) replaces the default aliases of the symbols it names
    and adds new symbols; a symbol mapped to ``[]`` is not tagged from this feed. A
    relative ``path`` is read relative to the ASTS checkout (``data/news/sample.xml``).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    url: str | None = Field(default=None, max_length=2000)
    path: str | None = Field(default=None, max_length=2000)
    format: FeedFormat = "auto"
    aliases: dict[str, list[str]] | None = None
    # "auto": the language model scores new items when one is configured, else the lexicon.
    sentiment: Literal["auto", "lexicon"] = "auto"

    @model_validator(mode="after")
    def _one_location(self) -> FeedSource:
        if (self.url is None) == (self.path is None):
            raise ValueError(f"feed {self.name!r} needs exactly one of url or path")
        if self.url is not None and not self.url.lower().startswith(("http://", "https://")):
            raise ValueError(f"feed {self.name!r}: url must start with http:// or https://, got {self.url!r}")
        return self

    @property
    def location(self) -> str:
        """The URL or path, for messages."""
        return self.url or self.path or ""


class FeedResult(BaseModel):
    """What ingesting one feed did; ``failed`` with the reason in ``errors`` if it could not be read."""

    source: str
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    skipped: int = 0
    errors: list[str] = Field(default_factory=list)
    failed: bool = False


class IngestInput(BaseModel):
    """Input of IngestWorkflow: the feeds to ingest, all in parallel."""

    feeds: list[FeedSource] = Field(default_factory=list)


class IngestResult(BaseModel):
    """Output of IngestWorkflow: one result per feed (in input order) and the totals."""

    feeds: list[FeedResult] = Field(default_factory=list)
    new: int = 0
    duplicates: int = 0
    failed: int = 0
