"""HTTP content negotiation: the formats offered and how a request picks one."""
