"""Example catalogue queries that answer real MIR questions (also listed in the README).

Each is plain DuckDB SQL over the views of :mod:`catalogue.schema`; ``stemline query`` runs
any of them. ``stemline demo`` prints the first few on the demo data.

Every example counts current tracks only: a track whose files are all gone (deleted, or
overwritten in place with other content) stays in the catalogue with ``tracks.removed`` true,
and its stems and features stay too, so the examples leave removed tracks out (``NOT
t.removed`` where they join ``tracks``, ``track_id NOT IN (SELECT track_id FROM tracks WHERE
removed)`` where they do not). They therefore agree on how many tracks there are.
"""

#: The tracks to leave out of per-track figures: those with no file left.
_NOT_REMOVED = "track_id NOT IN (SELECT track_id FROM tracks WHERE removed)"

EXAMPLES: list[tuple[str, str]] = [
    (
        "Tracks by status, with total minutes",
        """SELECT status, count(*) AS tracks, round(sum(duration_s) / 60, 2) AS minutes
FROM tracks WHERE NOT removed GROUP BY status ORDER BY status""",
    ),
    (
        "Instrumental tracks (the vocal stem is silent)",
        """SELECT t.path, round(s.rms_dbfs::DOUBLE, 1) AS vocal_rms_dbfs
FROM stem_summaries s JOIN tracks t USING (track_id)
WHERE s.stem = 'vocals' AND s.is_silent AND NOT t.removed ORDER BY t.path""",
    ),
    (
        "Onset density per stem (onsets per second, median over tracks)",
        f"""SELECT model, stem, round(median(onset_rate_hz)::DOUBLE, 2) AS onsets_per_s,
       count(*) AS tracks
FROM stem_summaries WHERE {_NOT_REMOVED}
GROUP BY model, stem ORDER BY model, stem""",
    ),
    (
        "Vocal range per track in semitones (5th to 95th percentile of voiced f0)",
        """SELECT t.path,
       round((s.pitch_p95_midi - s.pitch_p05_midi)::DOUBLE, 1) AS range_semitones,
       round(s.pitch_median_hz::DOUBLE, 1) AS median_hz
FROM stem_summaries s JOIN tracks t USING (track_id)
WHERE s.stem = 'vocals' AND NOT s.is_silent AND NOT t.removed
ORDER BY range_semitones DESC""",
    ),
    (
        "Tracks whose vocal range exceeds two octaves",
        """SELECT t.path, round((s.pitch_p95_midi - s.pitch_p05_midi)::DOUBLE, 1) AS range_semitones
FROM stem_summaries s JOIN tracks t USING (track_id)
WHERE s.stem = 'vocals' AND s.pitch_p95_midi - s.pitch_p05_midi > 24 AND NOT t.removed""",
    ),
    (
        "Key estimates per stem side by side (bass or vocals against accompaniment)",
        """SELECT t.path,
       max(s.key) FILTER (WHERE s.stem = 'vocals') AS vocals_key,
       max(s.key) FILTER (WHERE s.stem IN ('bass', 'accompaniment', 'other')) AS backing_key
FROM stem_summaries s JOIN tracks t USING (track_id)
WHERE NOT t.removed
GROUP BY t.path ORDER BY t.path""",
    ),
    (
        "Separation quality: median global SDR per stem against references",
        f"""SELECT model, stem, count(*) AS tracks, round(median(value), 2) AS median_sdr_db
FROM evaluation WHERE metric = 'global_sdr_db' AND {_NOT_REMOVED}
GROUP BY model, stem ORDER BY model, stem""",
    ),
    (
        "Most frequent vocal notes (pitch-class histogram of note events)",
        f"""SELECT midi_pitch % 12 AS pitch_class, count(*) AS notes,
       round(sum(offset_s - onset_s), 1) AS seconds
FROM notes WHERE stem = 'vocals' AND {_NOT_REMOVED}
GROUP BY pitch_class ORDER BY notes DESC""",
    ),
    (
        "Voiced share and median f0 of the vocal stem per track",
        f"""SELECT track_id, round(avg(voiced), 3) AS voiced_ratio,
       round(median(f0_hz::DOUBLE) FILTER (WHERE voiced = 1), 1) AS median_f0_hz
FROM pitch_frames WHERE stem = 'vocals' AND {_NOT_REMOVED}
GROUP BY track_id ORDER BY voiced_ratio DESC""",
    ),
    (
        "Strongest pitch class of the accompaniment per track (mean chroma; 0 = C)",
        f"""SELECT track_id,
       list_position(mean_chroma, list_max(mean_chroma)) - 1 AS strongest_pitch_class
FROM stem_summaries
WHERE stem = 'accompaniment' AND mean_chroma IS NOT NULL AND {_NOT_REMOVED}
ORDER BY track_id""",
    ),
    (
        "Failed inputs and why",
        """SELECT path, error FROM tracks WHERE status = 'error' AND NOT removed ORDER BY path""",
    ),
]
