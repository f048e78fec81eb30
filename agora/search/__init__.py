"""Search and discovery: the keyword index (tokenize, indexing, lexical), the query syntax (query),
semantic search and trends. Import the modules you need; this package imports nothing eagerly, so
`social.statuses` can reach `search.indexing` without pulling in the search services."""
