"""Example queries for the query page.

The only values put into these texts are the deployment's own namespaces, from the
configured base (never anything from a request); everything else is fixed text.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..rdf import vocab as v


@dataclass(frozen=True)
class Example:
    key: str
    title: str
    query: str


def _prologue(iris: v.Iris, *names: str) -> str:
    known = {**v.PREFIXES, "pl": iris.vocab, "place": f"{iris.base}/id/place/"}
    return "".join(f"PREFIX {n}: <{known[n]}>\n" for n in names)


#: The examples: (key, title, the prefixes the query uses, the query). The prefixes are
#: declared from the deployment's own namespaces when the page asks for them.
EXAMPLES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    (
        "per-goal",
        "Pledges per SDG goal",
        ("pl", "skos"),
        """
# How many pledges name each Sustainable Development Goal (the UN's goal IRIs).
SELECT ?goal ?title (COUNT(DISTINCT ?pledge) AS ?pledges) WHERE {
  ?pledge a pl:Pledge ;
          pl:sdgGoal ?goal .
  OPTIONAL { ?goal skos:prefLabel ?title FILTER(langMatches(lang(?title), "en")) }
}
GROUP BY ?goal ?title
ORDER BY DESC(?pledges) ?goal
""",
    ),
    (
        "place",
        "Pledges of a place",
        ("pl", "dcterms", "place"),
        """
# Pledges about Peru or any place in Peru. Change place:peru to another place IRI.
SELECT ?pledge ?title ?place WHERE {
  ?place pl:country? place:peru .
  ?pledge a pl:Pledge ;
          dcterms:spatial ?place ;
          dcterms:title ?title .
}
ORDER BY ?title
""",
    ),
    (
        "targets",
        "Pledges under a goal's targets (UN SDG KOS)",
        ("pl", "dcterms", "skos", "sdgo"),
        """
# Pledges linked to SDG 5 or to one of its targets, joined with the UN SDG
# knowledge organisation system on its URIs (a target's skos:broader is its
# goal). Try <http://metadata.un.org/sdg/10>: target 10.7 is about migration.
SELECT ?concept ?code ?label ?pledge ?title WHERE {
  ?concept skos:broader? <http://metadata.un.org/sdg/5> ;
           skos:notation ?code .
  FILTER(datatype(?code) = sdgo:SDGCodeCompact)
  { ?pledge pl:sdgTarget ?concept } UNION { ?pledge pl:sdgGoal ?concept }
  ?pledge dcterms:title ?title .
  OPTIONAL { ?concept skos:prefLabel ?label FILTER(langMatches(lang(?label), "en")) }
}
ORDER BY ?code ?title
""",
    ),
    (
        "submitters",
        "Submitters and programmes",
        ("pl", "foaf", "schema"),
        """
# Who submitted pledges, under which programme.
SELECT ?submitter ?name ?programme ?programmeName (COUNT(?pledge) AS ?pledges) WHERE {
  ?pledge a pl:Pledge ;
          pl:submittedBy ?submitter .
  ?submitter foaf:name ?name .
  OPTIONAL { ?pledge pl:programme ?programme .
             ?programme schema:name ?programmeName }
}
GROUP BY ?submitter ?name ?programme ?programmeName
ORDER BY DESC(?pledges) ?name
""",
    ),
    (
        "construct",
        "A pledge and its links, as a graph",
        ("pl", "dcterms"),
        """
# CONSTRUCT answers with RDF: choose Turtle, N-Triples, RDF/XML or JSON-LD.
CONSTRUCT {
  ?pledge ?p ?o .
} WHERE {
  ?pledge a pl:Pledge ;
          ?p ?o .
}
LIMIT 40
""",
    ),
)


def examples(base: str) -> list[Example]:
    """The example queries, their prologues written for the deployment at ``base``."""
    iris = v.Iris(base)
    return [
        Example(key, title, _prologue(iris, *prefixes) + query)
        for key, title, prefixes, query in EXAMPLES
    ]
