"""The project's one error tree. Library code raises these; only the edges
(the CLI's exit message, the app's ``gr.Error``) turn them into something else."""


class RagError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(RagError):
    """A source file or record cannot be read as papers.

    ``path`` and ``record`` name what was bad so the message can point at it.
    """

    def __init__(self, message: str, path: str = "", record: str = ""):
        self.path, self.record, self.reason = str(path), str(record), message
        where = ": ".join(part for part in (self.path, self.record) if part)
        super().__init__(f"{where}: {message}" if where else message)


class StoreError(RagError):
    """The vector store or keyword index failed or is inconsistent."""


class EmbeddingError(RagError):
    """The embedding model is missing, corrupt or failed to run."""


class ModelError(RagError):
    """The language model is missing, corrupt or failed to run."""
