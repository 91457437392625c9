"""Shared pieces of the settings models: strict base model and small typed fields."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, SecretStr

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
ZERO_ADDRESS = "0x" + "0" * 40


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo in an environment file must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=False, validate_default=True)


def _check_address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError("must be a 0x-prefixed 20-byte hex address")
    return value


HexAddress = Annotated[str, AfterValidator(_check_address)]


def _empty_is_none(value: object) -> object:
    return None if value == "" else value


# A secret that may be absent; an empty string (an unset `${VAR:-}`) counts as absent.
OptionalSecret = Annotated[SecretStr | None, BeforeValidator(_empty_is_none)]
