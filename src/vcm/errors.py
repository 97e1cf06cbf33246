"""Exceptions that carry a one-line, user-facing reason."""


class VcmError(Exception):
    """Base class: the message is shown to the user as is."""


class InputError(VcmError):
    """A file, array or option given by the user cannot be used."""


class AssetError(VcmError):
    """A cached weight or sample file is missing, corrupt or cannot be fetched."""


class OutputError(VcmError):
    """An output file cannot be written."""
