"""One dynamic partition per track; the key is the track id (16 hex digits of its sha256)."""

import dagster as dg

TRACKS = "tracks"
tracks_partitions = dg.DynamicPartitionsDefinition(name=TRACKS)
