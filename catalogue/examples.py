"""Example catalogue queries that answer real MIR questions (also listed in the README).

Each is plain DuckDB SQL over the views of :mod:`catalogue.schema`; ``stemline query`` runs
any of them. ``stemline demo`` prints the first few on the demo data.
"""

EXAMPLES: list[tuple[str, str]] = [
    (
        "Tracks by status, with total minutes",
        """SELECT status, count(*) AS tracks, round(sum(duration_s) / 60, 2) AS minutes
FROM tracks GROUP BY status ORDER BY status""",
    ),
    (
        "Instrumental tracks (the vocal stem is silent)",
        """SELECT t.path, round(s.rms_dbfs::DOUBLE, 1) AS vocal_rms_dbfs
FROM stem_summaries s JOIN tracks t USING (track_id)
WHERE s.stem = 'vocals' AND s.is_silent ORDER BY t.path""",
    ),
    (
        "Onset density per stem (onsets per second, median over tracks)",
        """SELECT model, stem, round(median(onset_rate_hz)::DOUBLE, 2) AS onsets_per_s,
       count(*) AS tracks
FROM stem_summaries GROUP BY model, stem ORDER BY model, stem""",
    ),
    (
        "Vocal range per track in semitones (5th to 95th percentile of voiced f0)",
        """SELECT t.path,
       round((s.pitch_p95_midi - s.pitch_p05_midi)::DOUBLE, 1) AS range_semitones,
       round(s.pitch_median_hz::DOUBLE, 1) AS median_hz
FROM stem_summaries s JOIN tracks t USING (track_id)
WHERE s.stem = 'vocals' AND NOT s.is_silent ORDER BY range_semitones DESC""",
    ),
    (
        "Tracks whose vocal range exceeds two octaves",
        """SELECT t.path, round((s.pitch_p95_midi - s.pitch_p05_midi)::DOUBLE, 1) AS range_semitones
FROM stem_summaries s JOIN tracks t USING (track_id)
WHERE s.stem = 'vocals' AND s.pitch_p95_midi - s.pitch_p05_midi > 24""",
    ),
    (
        "Key estimates per stem side by side (bass or vocals against accompaniment)",
        """SELECT t.path,
       max(s.key) FILTER (WHERE s.stem = 'vocals') AS vocals_key,
       max(s.key) FILTER (WHERE s.stem IN ('bass', 'accompaniment', 'other')) AS backing_key
FROM stem_summaries s JOIN tracks t USING (track_id)
GROUP BY t.path ORDER BY t.path""",
    ),
    (
        "Separation quality: median global SDR per stem against references",
        """SELECT model, stem, count(*) AS tracks, round(median(value), 2) AS median_sdr_db
FROM evaluation WHERE metric = 'global_sdr_db' GROUP BY model, stem ORDER BY model, stem""",
    ),
    (
        "Most frequent vocal notes (pitch-class histogram of note events)",
        """SELECT midi_pitch % 12 AS pitch_class, count(*) AS notes,
       round(sum(offset_s - onset_s), 1) AS seconds
FROM notes WHERE stem = 'vocals' GROUP BY pitch_class ORDER BY notes DESC""",
    ),
    (
        "Voiced share and median f0 of the vocal stem per track",
        """SELECT track_id, round(avg(voiced), 3) AS voiced_ratio,
       round(median(f0_hz::DOUBLE) FILTER (WHERE voiced = 1), 1) AS median_f0_hz
FROM pitch_frames WHERE stem = 'vocals' GROUP BY track_id ORDER BY voiced_ratio DESC""",
    ),
    (
        "Strongest pitch class of the accompaniment per track (mean chroma; 0 = C)",
        """SELECT track_id,
       list_position(mean_chroma, list_max(mean_chroma)) - 1 AS strongest_pitch_class
FROM stem_summaries
WHERE stem = 'accompaniment' AND mean_chroma IS NOT NULL
ORDER BY track_id""",
    ),
    (
        "Failed inputs and why",
        """SELECT path, error FROM tracks WHERE status = 'error' ORDER BY path""",
    ),
]
