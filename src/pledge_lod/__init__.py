"""pledge_lod: migration pledges and practices published as Linked Open Data."""

__version__ = "0.1.0"
