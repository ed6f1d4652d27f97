"""Records to RDF: the vocabulary's IRIs and the mapping."""
