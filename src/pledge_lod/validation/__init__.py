"""SHACL: the shapes compiled to SPARQL on Oxigraph, and pyshacl as the reference."""
