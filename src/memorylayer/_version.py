"""The one place the version is written; pyproject.toml reads it from here."""

__version__ = "0.1.0"
#: The distribution name on a package index (`memorylayer` and `memory-layer` are taken); the import
#: name stays `memorylayer`. See docs/install.md.
DISTRIBUTION = "memorylayer-agents"
