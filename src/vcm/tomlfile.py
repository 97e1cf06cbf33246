"""Reading a user's TOML settings file (a retention policy, a camera configuration)."""

import tomllib
from pathlib import Path
from typing import Any

from vcm.errors import InputError


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The TOML table in `path`; InputError naming `what` and the problem (missing, unreadable,
    not TOML)."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except OSError as error:
        raise InputError(f"cannot read {what} {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{what} {path} is not TOML: {error}") from None
