"""Sentiment: ``analyzer.get_analyzer(config)`` scores text with VADER plus Earful's service
lexicon and brand-name masking; ``vader_fast`` is an exact, faster VADER; ``evaluation`` measures
both on the labelled sets (``earful score --eval``)."""
