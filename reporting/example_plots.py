"""The dataset report's example: one track's stem spectrograms and its vocal pitch contour.

:func:`example_plots_markdown` chooses the track (:func:`reporting.example_track.
choose_example_track`: the most voiced vocals), reads up to ``max_seconds`` of its stems and its
``pitch_frames`` and ``notes`` rows from the catalogue, and returns markdown with one sentence
naming the track by path and saying why it is shown, then the two PNG images. Every title and
image caption names the track by path and id prefix. When the voice starts late (after half the
window) the window starts one second before the first voiced frame, and the titles say where;
plot times are then seconds from the window start. With ``cache`` (the dataset report's), a
section drawn before from the same inputs is given back instead of drawn again
(:mod:`reporting.example_cache`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from catalogue.layout import check_name
from reporting.example_cache import example_fingerprint, read_cached, write_cached
from reporting.example_track import ExampleTrack, choose_example_track, rounded
from reporting.markdown import png_markdown

EXAMPLE_SECONDS = 30.0
#: Seconds of lead-in kept before the first voiced frame when the window is moved to it.
LEAD_IN_S = 1.0
#: The fields of :class:`ExamplePlots` kept in the cache (the track is chosen anew each time).
CACHED_FIELDS = ("markdown", "titles", "start_s", "voiced_frames")


@dataclass(frozen=True)
class ExamplePlots:
    """What the report's example section shows.

    Attributes
    ----------
    markdown : str
        The section: a sentence naming the track, then the images (or why there are none).
    example : ExampleTrack or None
        The track drawn; ``None`` when no track is separated yet.
    titles : list of str
        Titles of the figures drawn, in order.
    start_s : float
        Where the drawn window starts in the track, seconds.
    voiced_frames : int
        Voiced vocal pitch frames inside the drawn window.
    cached : bool
        Whether the section was given back from the cache rather than drawn now.
    """

    markdown: str
    example: ExampleTrack | None
    titles: list[str] = field(default_factory=list)
    start_s: float = 0.0
    voiced_frames: int = 0
    cached: bool = False

    def metadata(self) -> dict[str, str | float | int | None]:
        """Dagster-ready metadata of the example (numbers rounded); empty without one."""
        if self.example is None:
            return {}
        return {
            **self.example.metadata(),
            "example_start_s": rounded(self.start_s, 1),
            "example_voiced_frames": self.voiced_frames,
        }


def _read_window(path: str, start_s: float, seconds: float) -> tuple[np.ndarray, int]:
    import soundfile as sf

    with sf.SoundFile(path) as fh:
        rate = fh.samplerate
        fh.seek(min(round(start_s * rate), fh.frames))
        return fh.read(round(seconds * rate), dtype="float32", always_2d=True), rate


def _shifted(frame: pl.DataFrame, columns: tuple[str, ...], start_s: float) -> pl.DataFrame:
    """``frame`` with its time columns counted from the window start."""
    return frame.with_columns(pl.col(c) - start_s for c in columns) if start_s else frame


def example_plots_markdown(
    root: Path, model: str, max_seconds: float = EXAMPLE_SECONDS, cache: Path | None = None
) -> ExamplePlots:
    """The report's example section for the catalogue under ``root``.

    Parameters
    ----------
    root : pathlib.Path
        Storage root.
    model : str
        Model folder name (``2stems``).
    max_seconds : float, optional
        Length of the drawn window, seconds.
    cache : pathlib.Path, optional
        A file (:func:`reporting.example_cache.example_cache_path`) holding the last drawn
        section: given back when drawn from the same inputs, else replaced by the new one.

    Returns
    -------
    ExamplePlots
        Markdown, the track, the figure titles and the number of voiced frames drawn. A stem
        file that cannot be read gives a one-line statement instead of the images.
    """
    if max_seconds <= 0:
        raise ValueError("max_seconds must be positive")
    root = Path(root)
    example = choose_example_track(root, model)
    if example is None:
        return ExamplePlots("_no separated track yet_", None)
    if cache is None:
        return _draw(root, model, example, max_seconds)
    fingerprint = example_fingerprint(root, model, example, max_seconds)
    stored = read_cached(cache, fingerprint)
    if stored is not None and set(stored) == set(CACHED_FIELDS):
        return ExamplePlots(example=example, cached=True, **stored)
    plots = _draw(root, model, example, max_seconds)
    if plots.titles:  # drawn; a stem that could not be read is tried again next time
        write_cached(cache, fingerprint, {name: getattr(plots, name) for name in CACHED_FIELDS})
    return plots


def _draw(root: Path, model: str, example: ExampleTrack, max_seconds: float) -> ExamplePlots:
    """Read ``example``'s window from the catalogue and draw its section."""
    # DuckDB and matplotlib load only when a section is drawn: a report whose example is
    # cached (most runs that add a track) never imports them.
    from catalogue.query import run_queries
    from reporting.pitch_contour import pitch_contour_png
    from reporting.stem_spectrograms import stem_spectrograms_png

    keys = f"track_id = '{example.track_id}' AND model = '{check_name(model)}'"
    vocal_keys = f"{keys} AND stem = 'vocals'"
    # One opening of the catalogue for the three reads (each opening defines every view): the
    # track's vocal rows are few enough to window here.
    stems, all_pitch, all_notes = run_queries(
        root,
        [
            f"SELECT stem, path FROM stem_files WHERE {keys} ORDER BY stem",
            f"SELECT * FROM pitch_frames WHERE {vocal_keys} ORDER BY frame",
            f"SELECT * FROM notes WHERE {vocal_keys} ORDER BY onset_s",
        ],
    )
    first = all_pitch.filter(pl.col("voiced") == 1)["time_s"].min()
    start_s = 0.0
    if first is not None and first > max_seconds / 2:
        start_s = float(np.floor(10 * (first - LEAD_IN_S)) / 10)
    intro = f"Example: `{example.path}` ({example.track_id}), {example.reason}."
    audio: dict[str, np.ndarray] = {}
    rate = 0
    for stem, stem_path in stems.iter_rows():
        try:
            audio[stem], rate = _read_window(stem_path, start_s, max_seconds)
        except (OSError, RuntimeError) as exc:  # soundfile's errors are RuntimeErrors
            return ExamplePlots(f"{intro}\n\ncannot read stem {stem_path}: {exc}", example)
    shown_s = min(max_seconds, max(a.shape[0] for a in audio.values()) / rate)
    window = f"{start_s:g}–{start_s + shown_s:.1f} s"
    titles = [example.title(f"{model} stems, {window}")]
    parts = [
        intro,
        png_markdown(
            stem_spectrograms_png(audio, rate, title=titles[0], max_seconds=max_seconds),
            f"stem spectrograms of {example.label}",
        ),
    ]
    voiced_frames = 0
    if "vocals" in audio:
        end = start_s + max_seconds
        pitch = all_pitch.filter(pl.col("time_s").is_between(start_s, end, closed="left"))
        notes = all_notes.filter(pl.col("onset_s").is_between(start_s, end, closed="left"))
        voiced_frames = int(pitch["voiced"].sum()) if pitch.height else 0
        titles.append(example.title(f"vocal f0 and notes, {window}"))
        png = pitch_contour_png(
            audio["vocals"],
            rate,
            _shifted(pitch, ("time_s",), start_s),
            _shifted(notes, ("onset_s", "offset_s"), start_s),
            title=titles[1],
            max_seconds=max_seconds,
        )
        parts.append(png_markdown(png, f"vocal pitch contour of {example.label}"))
    return ExamplePlots("\n\n".join(parts), example, titles, start_s, voiced_frames)
