"""The services hold only what differs between them: what they share lives in service-kit.

Before the kit, each image was built from its own directory and the shared modules were kept
as copies; these tests keep copies from coming back, under the same name or another.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from services_testkit import ALL_SERVICES, KIT_DIR, KIT_PACKAGE, Service

IDS = [s.name for s in ALL_SERVICES]
# Below this, shared lines are boilerplate (imports, a short route); at it, a pasted function.
COPIED_RUN = 6


def modules(package_dir: Path) -> dict[str, Path]:
    """Module name -> file, without the dunder modules every package has."""
    return {p.stem: p for p in package_dir.glob("*.py") if not p.stem.startswith("__")}


def kit_modules() -> dict[str, Path]:
    return modules(KIT_DIR / "src" / KIT_PACKAGE)


def runs(path: Path) -> set[tuple[str, ...]]:
    """Every COPIED_RUN consecutive non-blank lines, whitespace-trimmed."""
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return {tuple(lines[i : i + COPIED_RUN]) for i in range(len(lines) - COPIED_RUN + 1)}


def test_the_kit_has_the_modules_the_services_used_to_copy() -> None:
    assert {"envconfig", "jsonlog", "accesslog", "server"} <= set(kit_modules())


@pytest.mark.parametrize("service", ALL_SERVICES, ids=IDS)
def test_no_service_module_is_named_like_a_kit_module(service: Service) -> None:
    own = modules(service.directory / "src" / service.package)
    assert own, "the service's package is where the tests think it is"
    assert not set(own) & set(kit_modules()), "import it from service_kit instead of keeping a copy"


@pytest.mark.parametrize("service", ALL_SERVICES, ids=IDS)
def test_no_service_module_repeats_kit_code(service: Service) -> None:
    kit = set().union(*(runs(p) for p in kit_modules().values()))
    for path in sorted((service.directory / "src" / service.package).glob("*.py")):
        copied = runs(path) & kit
        assert not copied, f"{path.name} repeats service_kit code:\n" + "\n".join(sorted(copied)[0])
