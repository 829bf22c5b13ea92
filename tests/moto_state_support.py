"""A deployed emulator state, made once per worker by real deploy.py runs, then restored by copy.

Many tests start from the same state (every stack deployed; or that plus three releases of app-api)
and then test something else. Making that state takes several deploy.py runs (about 1.6 s of CPU
for `--stack all` alone, and 4 s for the releases); a copy of moto's backends restores it in 0.3 s.
The first test on a worker to ask for a state makes it for real (its runs are checked as they
always were), and every later test gets a deep copy of what those runs left in the emulator,
together with the warnings moto gave while making it (so `moto_required` still sees them).

Tests that are about the deploy itself keep deploying for real; this is only for set-up.
"""

from __future__ import annotations

import collections
import copy
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from deploy_support import Aws


def _dict_subclass(x: dict[Any, Any], memo: dict[int, Any]) -> dict[Any, Any]:
    """Dict subclasses whose constructor takes other arguments (moto's SSM ParameterDict): made empty
    and filled, as pickle would, instead of through the constructor `copy` would call."""
    made = type(x).__new__(type(x))
    memo[id(x)] = made
    if isinstance(x, collections.defaultdict):
        made.default_factory = x.default_factory  # type: ignore[attr-defined]
    for key, value in x.items():
        dict.__setitem__(made, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
    made.__dict__.update(copy.deepcopy(vars(x), memo))
    return made


@contextmanager
def _copiers() -> Iterator[None]:
    from moto.ssm.models import ParameterDict

    # Locks in moto's models are copied as new, free locks: no request is in flight while a state is
    # copied (the test's own thread is the only one calling).
    added: dict[type, Callable[[Any, dict[int, Any]], Any]] = {
        type(threading.Lock()): lambda _x, _memo: threading.Lock(),
        type(threading.RLock()): lambda _x, _memo: threading.RLock(),
        ParameterDict: _dict_subclass,
    }
    dispatch = copy._deepcopy_dispatch  # type: ignore[attr-defined]
    dispatch.update(added)
    try:
        yield
    finally:
        for kind in added:
            dispatch.pop(kind, None)


@dataclass
class State:
    backends: list[tuple[str, dict[str, Any]]]
    warnings: list[warnings.WarningMessage]


_made: dict[str, State] = {}


def _capture() -> list[tuple[str, dict[str, Any]]]:
    from moto.core.base_backend import BackendDict

    with _copiers():
        return copy.deepcopy([(bd.service_name, dict(bd)) for bd in BackendDict._instances])


def _restore(state: State) -> None:
    import moto.backends
    from moto.core.base_backend import BackendDict

    with _copiers():
        fresh = copy.deepcopy(state.backends)
    for name, accounts in fresh:
        live = moto.backends.get_backend(name)  # type: ignore[call-overload]
        dict.update(live, accounts)
        if live not in BackendDict._instances:
            BackendDict._instances.append(live)


def prepared(aws: Aws, name: str, make: Callable[[Aws], None]) -> Aws:
    """The emulator in state `name`, which `make(aws)` brings an empty emulator to.

    Only as a test's first step (the emulator just reset by the `aws` fixture): the state is the
    same whatever ran before on the worker."""
    from moto.core.base_backend import BackendDict

    assert not any(BackendDict._instances), "prepared() must come before anything else touches the emulator"
    if name in _made:
        _restore(_made[name])
        aws.warnings.extend(_made[name].warnings)
        return aws
    seen = len(aws.warnings)
    make(aws)
    _made[name] = State(_capture(), list(aws.warnings[seen:]))
    return aws


def deploy_or_fail(aws: Aws, stack: str) -> None:
    """`deploy.py --stack <stack> --yes` of the committed configuration, which must succeed."""
    done = aws.deploy("--stack", stack, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr


def stack_deployed(aws: Aws, stack: str) -> Aws:
    """The emulator with `stack` of the committed configuration deployed (`all`: every stack)."""
    return prepared(aws, stack, lambda fresh: deploy_or_fail(fresh, stack))
