"""The query language: which brand a mention is about.

``matcher.compile_brands(brands)`` -> a ``BrandMatcher`` whose ``match(MatchDoc)`` names the
brands a post mentions; ``grammar`` parses queries (``"united" AND (guitar OR luggage)``),
``index`` tokenizes a document once for every query.
"""
