"""The package registry: versioned, integrity-checked memory packages that others install.

``names`` (names, versions, ranges, integrity), ``archive`` (the tarball format and its safe reader)
and ``client`` are what the CLI needs; ``service`` (the rules) and ``routes`` (``/registry/v1``) run
inside ``memorylayer serve``. See docs/registry.md.
"""
