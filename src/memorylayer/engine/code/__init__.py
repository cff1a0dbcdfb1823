"""Code memory: a source tree indexed into a namespace (``code(ingest)``) and searched (``code(locate)``)."""

from .index import INGEST_OPERATION, LOCATE_OPERATION, IngestSummary, Location, ingest, locate, split_identifiers

__all__ = ["INGEST_OPERATION", "LOCATE_OPERATION", "IngestSummary", "Location", "ingest", "locate", "split_identifiers"]
