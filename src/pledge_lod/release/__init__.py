"""The release format: the one contract that build, publish and serving share."""
