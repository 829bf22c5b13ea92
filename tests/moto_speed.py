"""Two of moto's costs the test workers do not pay (what moto answers is unchanged).

Measured with py-spy on a worker serving the deploy tests, each was about 7 % of its CPU:
- the server lists moto's package folder (some 170 entries, each stat'ed) on every request, to see
  whether the request's host names a service; the list cannot change while the process runs;
- CloudFormation parses every template body with PyYAML's pure-Python loader; the tool's templates are
  JSON (a subset of YAML), which the json module parses to the same value some 50 times faster.

Only the in-process server of the test workers gets these (conftest.moto_url): `deploy.py --local`
and the stock moto server the tests start run moto as it is.
"""

from __future__ import annotations

import json
import types
from functools import cache
from typing import Any

import yaml


class _JsonFirst(types.ModuleType):
    """The yaml module as moto's CloudFormation sees it: `load` tries JSON first."""

    def __getattr__(self, name: str) -> Any:
        return getattr(yaml, name)

    @staticmethod
    def load(stream: Any, Loader: Any) -> Any:  # noqa: N803 (yaml's own keyword)
        if isinstance(stream, str | bytes) and stream.lstrip()[:1] in ("{", b"{"):
            try:
                return json.loads(stream)
            except ValueError:
                pass  # YAML in flow style, or broken: yaml says which
        return yaml.load(stream, Loader=Loader)


def apply() -> None:
    import moto.backends
    import moto.cloudformation.models
    import moto.cloudformation.responses

    if not isinstance(moto.cloudformation.models.yaml, _JsonFirst):
        listed = cache(lambda folders=moto.backends.list_of_moto_modules: tuple(folders()))
        moto.backends.list_of_moto_modules = listed  # type: ignore[assignment]
        shim = _JsonFirst("yaml")
        moto.cloudformation.models.yaml = shim  # type: ignore[attr-defined]
        moto.cloudformation.responses.yaml = shim  # type: ignore[attr-defined]
