"""Schemathesis hooks for Prolo: the sync batch media type is bytes on the wire (Schemas/bundle.md's block payload
format), so generated binary bodies are sent as they are, like application/octet-stream."""
import schemathesis

schemathesis.serializer.alias("application/vnd.prolo.batch", "application/octet-stream")
