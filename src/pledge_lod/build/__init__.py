"""Building a release: the pipeline, its workers, cache, store loading, dumps, VoID."""
