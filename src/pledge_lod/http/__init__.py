"""HTTP content negotiation: one table of the formats the site and the SPARQL endpoint
produce (:mod:`.formats`) and one way a request picks one (:mod:`.negotiation`)."""
