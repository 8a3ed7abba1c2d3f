"""Daily mention digest per brand: data (aggregate SQL), themes, drivers, charts, HTML/text/JSON,
email and schedule. ``build_digest`` computes, ``render_*`` only format, ``mail`` and ``schedule``
are the I/O edges."""
