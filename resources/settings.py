"""stemline's settings as a Dagster resource, read from a config file and the environment.

Sources, later ones winning: defaults; a TOML file (``$STEMLINE_CONFIG``, else ``stemline.toml``
in the working directory, if present) with the keys below at top level; environment variables
``STEMLINE_<KEY>`` (``STEMLINE_AUDIO_ROOTS`` separated by ``os.pathsep``). The reading itself is
:mod:`orchestration.config`, which does not import Dagster, so that ``stemline query`` finds the
storage root without it.

================== ============================================= =========================
key                meaning                                       default
================== ============================================= =========================
storage_root       where every output goes (``catalogue.layout``) ``data``
audio_roots        folders the sensor watches                    (none)
model              separation model configuration                ``spleeter:2stems``
codec              stem file codec (``flac``, ``wav``)             ``flac``
transcription_rate sample rate of transcription-prep audio       16000
max_duration_s     longer inputs are rejected before separation  10800 (3 h)
hashes_per_tick    new files the sensor hashes per tick          500
tracks_per_run     tracks computed by one run (one process,      16
                   one model load; ``assets.track_assets``)
batch_tracks       tracks of a run separated at once, their      1
                   segments sharing model calls (raise it on a
                   GPU; ``assets.stems``)
device             where separation runs (``auto``/``cpu``/``gpu``) ``auto``
warm_engine        hand a run's separation to a running warm     ``true``
                   engine with the same model options
                   (``stemline engine start``; ``assets.stems``)
executor           where a run's steps execute (below)           ``in_process``
dask_address       Dask scheduler (``tcp://host:8786``)          (none)
executor_config    run config file with the executor's defaults  (none)
================== ============================================= =========================

``executor`` picks the Dagster executor of every job (``orchestration.executors``):
``in_process`` (every step in the run's process: a run of the track assets is one step with its
checks inside, so a process per step would only import the definitions again), ``multiprocess``
(Dagster's default, one process per step on this machine), ``dask`` (each step a task on a
``dask.distributed`` cluster: the run config's ``cluster`` if it names one, else the scheduler
at ``dask_address``, else a local cluster per run) or ``k8s`` (each step a Kubernetes job;
needs the ``k8s`` extra). ``stemline run`` always executes in its own process, so the model
loads once; ``executor`` applies to runs launched by the UI, the sensor or ``dagster job
launch``. ``executor_config`` names a run config file (``deploy/*/dagster_run_config.yaml``)
whose ``execution.config`` becomes the executor's defaults, so runs launched without run config
(the sensor's) use it too. ``deploy/`` shows SLURM and Kubernetes set-ups.
"""

from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field

from catalogue.layout import StorageLayout, model_slug
from orchestration.config import DEFAULT_STORAGE_ROOT, load_setting_values

#: The values of the ``executor`` setting (``orchestration.executors`` maps them to Dagster's).
Executor = Literal["multiprocess", "in_process", "dask", "k8s"]
DeviceChoice = Literal["auto", "cpu", "gpu"]


class StemlineSettings(dg.ConfigurableResource):
    """Where inputs and outputs live and which model and formats to use."""

    storage_root: str = DEFAULT_STORAGE_ROOT
    audio_roots: list[str] = Field(default_factory=list)
    model: str = "spleeter:2stems"
    codec: str = "flac"
    transcription_rate: int = 16000
    max_duration_s: float = 10800.0
    hashes_per_tick: int = 500
    tracks_per_run: int = Field(default=16, ge=1)
    batch_tracks: int = Field(default=1, ge=1)
    device: DeviceChoice = "auto"
    warm_engine: bool = True
    executor: Executor = "in_process"
    dask_address: str = ""
    executor_config: str = ""

    @property
    def layout(self) -> StorageLayout:
        """The storage layout under ``storage_root``."""
        return StorageLayout(Path(self.storage_root).absolute())

    @property
    def model_name(self) -> str:
        """Folder-safe name of the model (``2stems``)."""
        return model_slug(self.model)

    @classmethod
    def load(cls, config_file: Path | None = None) -> "StemlineSettings":
        """Settings from the config file and ``STEMLINE_*`` environment variables.

        Raises ``orchestration.config.SettingsError`` (a ``ValueError``) naming the file or
        variable that cannot be read."""
        return cls(**load_setting_values(config_file))
