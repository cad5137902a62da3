"""textvae_core: sentence VAEs, the m / β / C objective family, training, checkpoints and decoding.

No Streamlit here: the app (``explorer/``, ``pages/``) builds on this package, never the reverse.
"""

from .checkpoint import CheckpointError, LoadedRun, load_run, read_config
from .config import FORMAT_VERSION, ConfigError, DataConfig, ModelConfig, ObjectiveConfig, RunConfig, TrainConfig
from .data import CorpusError, read_corpus
from .decoding import DecodeConfig
from .inference import Encoded, InputError, Reconstruction, TextVAE
from .objectives import PRESETS, beta_at, objective_terms, preset
from .vocab import Vocab

__version__ = "0.1.0"

__all__ = [
    "FORMAT_VERSION",
    "PRESETS",
    "CheckpointError",
    "ConfigError",
    "CorpusError",
    "DataConfig",
    "DecodeConfig",
    "Encoded",
    "InputError",
    "LoadedRun",
    "ModelConfig",
    "ObjectiveConfig",
    "Reconstruction",
    "RunConfig",
    "TextVAE",
    "TrainConfig",
    "Vocab",
    "beta_at",
    "load_run",
    "objective_terms",
    "preset",
    "read_config",
    "read_corpus",
]
