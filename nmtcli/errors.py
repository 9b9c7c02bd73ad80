"""Domain errors. The core raises these; only the CLI turns them into a message and exit code."""


class NmtError(Exception):
    """Base class for every error a user can cause and fix (bad input, bad option, bad file)."""


class CorpusError(NmtError):
    """A parallel corpus or text file is malformed; the message names the file and line."""


class VocabError(NmtError):
    """A vocabulary cannot be trained, loaded, or does not fit the model."""


class ModelDirError(NmtError):
    """A model directory is missing, incomplete, of an unknown format, or would be overwritten."""


class ConfigError(NmtError):
    """A configuration value or file is invalid."""


class TrainingError(NmtError):
    """Training cannot continue (non-finite loss, out of memory, interrupted)."""


class OutputError(NmtError):
    """An output file cannot be written where asked (missing folder, a directory, the input)."""
