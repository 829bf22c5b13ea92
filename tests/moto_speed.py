"""Costs of moto's the test workers do not pay (what the tests see moto answer is unchanged).

Measured with py-spy on a worker serving the deploy tests, each was 5-8 % of its CPU:
- the server lists moto's package folder (some 170 entries, each stat'ed) on every request, to see
  whether the request's host names a service; the list cannot change while the process runs;
- CloudFormation parses every template body with PyYAML's pure-Python loader; the tool's templates are
  JSON (a subset of YAML), which the json module parses to the same value some 50 times faster;
- every reset (each test's first step) builds EC2 again with its default AMIs, a snapshot and a volume
  each; nothing here looks an AMI up (moto does not check the NAT instance's image: AMI validation is
  off by default, and the image parameter comes from SSM's defaults, not from EC2);
- every KMS key (the alerts stack makes one) gets a new 2048-bit RSA key, even a symmetric one; one
  per key spec is enough when nothing signs with them;
- every backend made after a reset (each test's services, in each account) asks botocore which
  regions its service has: the answer depends only on the service, but moto caches it per backend
  object (a new one each time), so each asked again (about 10 % of a deploy test's own CPU).

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
    """In the worker's process, before its server starts (not through MOTO_EC2_LOAD_DEFAULT_AMIS, which the
    deploy.py runs and moto servers the tests start would inherit)."""
    import moto.backends
    import moto.cloudformation.models
    import moto.cloudformation.responses
    import moto.core.base_backend
    import moto.kms.models
    import moto.settings

    if not isinstance(moto.cloudformation.models.yaml, _JsonFirst):
        moto.settings.ec2_load_default_amis = lambda: False  # type: ignore[assignment]
        moto.kms.models.generate_private_key = cache(moto.kms.models.generate_private_key)  # type: ignore[assignment]
        listed = cache(lambda folders=moto.backends.list_of_moto_modules: tuple(folders()))
        moto.backends.list_of_moto_modules = listed  # type: ignore[assignment]
        shim = _JsonFirst("yaml")
        moto.cloudformation.models.yaml = shim  # type: ignore[attr-defined]
        moto.cloudformation.responses.yaml = shim  # type: ignore[attr-defined]
        backend = moto.core.base_backend.AccountSpecificBackend
        asked = backend._generate_regions.__wrapped__  # self is not used: the class's session answers
        regions = cache(lambda service_name: tuple(asked(None, service_name)))
        backend._generate_regions = lambda self, service_name: list(regions(service_name))  # type: ignore[method-assign]
