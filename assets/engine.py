"""The separation model as a Dagster resource, loaded once per process."""

import functools

import dagster as dg

from separation import Separator
from separation.configs import load_config
from separation.provider import MARKER, ModelProvider

#: Bump when stemline's signal path changes its output, so stems show as stale.
ENGINE_VERSION = "1"


@functools.cache
def _separator(model: str, mwf: bool, overlap: bool, device: str) -> Separator:
    return Separator(model, mwf=mwf, overlap=overlap, device=device).load()


class SeparationEngine(dg.ConfigurableResource):
    """Spleeter separation (``separation.Separator``) shared by every step in a process."""

    model: str = "spleeter:2stems"
    mwf: bool = False
    overlap: bool = False
    #: ``auto`` (a GPU when TensorFlow sees one), ``cpu`` or ``gpu`` (fails without one).
    device: str = "auto"

    def separator(self) -> Separator:
        """The loaded separator; built on first use in this process, then reused."""
        return _separator(self.model, self.mwf, self.overlap, self.device)


def stems_code_version(model: str, mwf: bool = False, overlap: bool = False) -> str:
    """Code version of the stems: model, checkpoint digest, options and engine version.

    The checkpoint digest is read from the provider's marker (cheap); before the first fetch it
    is ``unfetched``, so fetching or replacing a checkpoint marks stems stale in Dagster.
    """
    import json

    cfg = load_config(model)
    marker = ModelProvider().model_path / cfg.model_dir / MARKER
    digest = "unfetched"
    if marker.is_file():
        try:
            digest = json.loads(marker.read_text())["checkpoint_sha256"][:12]
        except (ValueError, KeyError):
            digest = "unreadable"
    options = "".join(flag for flag, on in (("+mwf", mwf), ("+overlap", overlap)) if on)
    return f"{model}{options}@{digest}/engine{ENGINE_VERSION}"
