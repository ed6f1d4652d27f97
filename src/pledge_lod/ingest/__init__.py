"""Sources to records: the curated YAML, source listing pages, synthetic data."""
