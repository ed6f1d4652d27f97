"""The SPARQL the web app runs, with the release's own IRIs filled in.

Two kinds of value reach a query, treated differently on purpose:

* IRIs that come from the *release* (its base, hence the project vocabulary, and its
  named graphs, all from the manifest) are written into the query text once per
  release (tokens such as ``@DATA@``), after checking they are plain absolute IRIs;
* every value that comes from a *request* (the slug of the thing asked for, a page's
  boundaries, a goal number) travels as a binding (``$this``, ``$lo``, ``$hi``) that the
  store substitutes as an RDF term, never as text.

Oxigraph only substitutes variables that a SELECT projects, so every SELECT below
projects the variables it binds. LIMITs come from settings, never from a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..rdf import vocab as v

_SAFE_IRI = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")

_LABELS = "rdfs:label skos:prefLabel"
#: The predicates by which pledges link to other resources (mapping.Mapper.pledge).
_PLEDGE_LINKS_OWN = (
    "committedBy",
    "submittedBy",
    "partner",
    "programme",
    "sdgGoal",
    "sdgTarget",
    "gcmObjective",
    "thematicArea",
)
_PLEDGE_LINKS_REUSED = ("dcterms:spatial", "dcterms:type", "dcterms:source")
_EN = '(lang(?l) = "" || langMatches(lang(?l), "en"))'


def _iri(value: str) -> str:
    if not _SAFE_IRI.match(value):
        raise ValueError(f"not a plain absolute IRI: {value!r}")
    return f"<{value}>"


@dataclass(frozen=True)
class Queries:
    """The query texts of one release."""

    prologue: str
    tokens: tuple[tuple[str, str], ...]

    @classmethod
    def for_release(cls, base: str, graphs: dict[str, str]) -> Queries:
        iris = v.Iris(base)
        prefixes = {
            "rdf": v.RDF,
            "rdfs": v.RDFS,
            "skos": v.SKOS,
            "dcterms": v.DCTERMS,
            "foaf": v.FOAF,
            "schema": v.SCHEMA,
            "prov": v.PROV,
            "sdgo": v.SDGO,
            "owl": v.OWL,
            "void": v.VOID,
            "dcat": v.DCAT,
            "pl": iris.vocab,
        }
        prologue = "".join(f"PREFIX {k}: {_iri(ns)}\n" for k, ns in prefixes.items())

        def graph(name: str) -> str:
            return _iri(graphs.get(name) or iris.graph(name))

        tokens = (
            ("@DATA@", graph("data")),
            ("@ONTOLOGY@", graph("ontology")),
            ("@SHAPES@", graph("shapes")),
            ("@VOID@", graph("void")),
            ("@PLEDGE@", _iri(iris.term("Pledge"))),
            ("@DATASET@", _iri(iris.dataset)),
            ("@LABELS@", _LABELS),
            ("@EN@", _EN),
            ("@ENPL@", _EN.replace("?l", "?pl")),
            (
                "@PLEDGE_LINKS@",
                ", ".join(f"pl:{t}" for t in _PLEDGE_LINKS_OWN)
                + ", "
                + ", ".join(_PLEDGE_LINKS_REUSED),
            ),
        )
        return cls(prologue, tokens)

    def q(self, text: str) -> str:
        """The prologue plus ``text`` with the release's tokens filled in."""
        for token, value in self.tokens:
            text = text.replace(token, value)
        return self.prologue + text

    # -- resource documents ----------------------------------------------------------

    @property
    def exists(self) -> str:
        return self.q("ASK { GRAPH @DATA@ { $this ?p ?o } }")

    @property
    def own(self) -> str:
        return self.q("CONSTRUCT { $this ?p ?o } WHERE { GRAPH @DATA@ { $this ?p ?o } }")

    @property
    def linked(self) -> str:
        """Types and (English or untagged) labels of everything the resource links to.
        OPTIONALs, not a UNION: they make Oxigraph start from ``$this`` (a UNION of the
        label and type patterns was planned as a scan of every label in the store)."""
        return self.q(
            "CONSTRUCT { ?o a ?t . ?o rdfs:label ?l . ?o skos:prefLabel ?pl } WHERE {\n"
            "  GRAPH @DATA@ { $this ?p ?o } FILTER(isIRI(?o) && ?p != rdf:type)\n"
            "  OPTIONAL { ?o a ?t }\n"
            "  OPTIONAL { ?o rdfs:label ?l FILTER@EN@ }\n"
            "  OPTIONAL { ?o skos:prefLabel ?pl FILTER@ENPL@ }\n"
            "}"
        )

    def back_pledges(self, limit: int) -> str:
        """Pledges linking to ``$this``: any ``limit`` rows (no ORDER BY, so that Oxigraph
        stops early even when a million pledges link to one kind or country; the paged
        listing is where they are all, in order)."""
        return self.q(
            "SELECT $this ?s ?p ?l WHERE { GRAPH @DATA@ {\n"
            "  ?s ?p $this FILTER EXISTS { ?s a @PLEDGE@ }\n"
            "  OPTIONAL { ?s rdfs:label ?l } } }\n"
            f"LIMIT {int(limit)}"
        )

    def back_others(self, limit: int) -> str:
        """Other resources linking to ``$this`` (places in a country, programmes an agent
        runs). The predicate filter drops pledge links cheaply before the per-row check."""
        return self.q(
            "SELECT $this ?s ?p ?l WHERE { GRAPH @DATA@ {\n"
            "  ?s ?p $this FILTER(?p NOT IN (@PLEDGE_LINKS@))\n"
            "  FILTER NOT EXISTS { ?s a @PLEDGE@ }\n"
            "  OPTIONAL { ?s rdfs:label ?l } } }\n"
            f"LIMIT {int(limit)}"
        )

    # -- listings ----------------------------------------------------------------------

    def listing_index(self, pattern: str, bound: bool) -> str:
        """The members of a listing, unordered: the caller sorts them. (ORDER BY on the
        read-only store decodes every IRI at each comparison: seconds for 10,000 rows.)"""
        head = "SELECT $this ?s" if bound else "SELECT ?s"
        return self.q(f"{head} WHERE {{ GRAPH @DATA@ {{ {pattern} }} }}")

    @property
    def member(self) -> str:
        """A pledge's own triples plus the labels of its places (and their country) and kind."""
        return self.q(
            "CONSTRUCT { $this ?p ?o . ?x rdfs:label ?xl . ?x pl:country ?c . ?c rdfs:label ?cl }\n"
            "WHERE { GRAPH @DATA@ {\n"
            "  { $this ?p ?o }\n"
            "  UNION { $this dcterms:spatial ?x . ?x rdfs:label ?xl\n"
            "          OPTIONAL { ?x pl:country ?c . ?c rdfs:label ?cl } }\n"
            "  UNION { $this dcterms:type ?x . ?x rdfs:label ?xl }\n"
            "} }"
        )

    @property
    def topic(self) -> str:
        """What a listing is about: its types and English labels (UN goals have many)."""
        return self.q(
            "CONSTRUCT { $this a ?t . $this ?lp ?l } WHERE {\n"
            "  { $this a ?t } UNION { VALUES ?lp { @LABELS@ skos:altLabel }\n"
            "  $this ?lp ?l FILTER@EN@ } }"
        )

    @property
    def is_goal(self) -> str:
        return self.q("ASK { $this a sdgo:Goal }")

    @property
    def is_target(self) -> str:
        return self.q("ASK { $this a sdgo:Target }")

    # -- whole graphs and site facts ------------------------------------------------------

    def graph(self, name: str) -> str:
        token = {"ontology": "@ONTOLOGY@", "shapes": "@SHAPES@", "void": "@VOID@"}[name]
        return self.q(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {token} {{ ?s ?p ?o }} }}")

    @property
    def dataset(self) -> str:
        return self.q(
            "SELECT ?title ?description ?licence ?publisher WHERE { GRAPH @VOID@ {\n"
            "  @DATASET@ dcterms:title ?title .\n"
            "  OPTIONAL { @DATASET@ dcterms:description ?description }\n"
            "  OPTIONAL { @DATASET@ dcterms:license ?licence }\n"
            "  OPTIONAL { @DATASET@ dcterms:publisher/foaf:name ?publisher } } } LIMIT 1"
        )

    @property
    def term_labels(self) -> str:
        return self.q("SELECT ?t ?l WHERE { GRAPH @ONTOLOGY@ { ?t rdfs:label ?l } }")

    def counts(self, pattern: str) -> str:
        """Pledges ``?s`` per value ``?x`` of ``pattern`` (a graph pattern written in this
        module, never a request value). Labels are looked up per value afterwards: joining
        them here made the GROUP BY slow."""
        return self.q(
            f"SELECT ?x (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH @DATA@ {{ {pattern} }} }}\n"
            "GROUP BY ?x"
        )

    @property
    def label(self) -> str:
        """English (or untagged) labels of one resource."""
        return self.q(
            "SELECT $this ?l WHERE { { $this rdfs:label ?l } UNION { $this skos:prefLabel ?l }\n"
            "  FILTER@EN@ }"
        )

    @property
    def goals(self) -> str:
        """All SDG goals with their English labels (long and short)."""
        return self.q(
            "SELECT ?goal ?label ?short WHERE { ?goal a sdgo:Goal .\n"
            '  OPTIONAL { ?goal skos:prefLabel ?label FILTER(langMatches(lang(?label), "en")) }\n'
            '  OPTIONAL { ?goal skos:altLabel ?short FILTER(langMatches(lang(?short), "en")) }\n'
            "}"
        )
