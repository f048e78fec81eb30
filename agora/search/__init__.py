"""Search and discovery: the keyword index (tokenize, indexing, lexical), the query syntax (query),
semantic search, hybrid ranking, trends and "For you".

Importing the package subscribes the keyword index to every post write (`indexing.keep_index` on
`social.events.on_status_written`): whatever writes posts — the app, the demo loader, a script —
keeps the index in step once anything of `agora.search` is imported.
"""

from agora.search import indexing as _indexing  # noqa: F401  (subscribes the keyword index)
