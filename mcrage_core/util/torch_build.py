"""Which PyTorch build suits this machine, and why: the CPU-only build where there is
no NVIDIA GPU, the CUDA build the NVIDIA driver can run where there is one.

Standard library only: ``make install`` runs this file *before* torch is installed
(``python mcrage_core/util/torch_build.py --install``), and the dashboard's compute
panel imports it to explain why a GPU is or is not used.

PyPI's ``torch`` wheel for Linux is a CUDA build (gigabytes of NVIDIA libraries); a
CPU-only machine gets the ``+cpu`` build from PyTorch's own index instead. A CUDA
build needs an NVIDIA driver at least as new as its CUDA version (NVIDIA's CUDA
toolkit release notes, "minimum required driver version"); the newest build the
driver can run is chosen. ``MCRAGE_TORCH=cpu|cu126|cu128|cu130|pypi|keep``
overrides the choice.

Examples
--------
>>> choose(system="Linux", driver=None).variant
'cpu'
>>> choose(system="Linux", driver="575.51.03").variant
'cu128'
>>> choose(system="Linux", driver="470.10").variant
'cpu'
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass

__all__ = [
    "CUDA_BUILDS",
    "TORCH_VERSION",
    "TorchPlan",
    "choose",
    "nvidia_driver",
    "pip_arguments",
]

TORCH_VERSION = "2.13.0"
PYTORCH_INDEX = "https://download.pytorch.org/whl"

# (variant, CUDA version, minimum Linux driver), newest first. cu130 is PyPI's default
# Linux build for this torch version; the others come from PyTorch's index.
CUDA_BUILDS: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("cu130", "13.0", (580, 65)),
    ("cu128", "12.8", (570, 26)),
    ("cu126", "12.6", (560, 28)),
)
_OLDEST_DRIVER = (525, 60)  # CUDA 12 minor-version compatibility: cu126 still runs
_VARIANTS = ("cpu", "pypi", "keep") + tuple(v for v, _, _ in CUDA_BUILDS)


@dataclass(frozen=True)
class TorchPlan:
    """The build to install: ``variant`` (cpu, cu126 ...; ``pypi`` for PyPI's default
    wheel), the pip requirement and index, and the reason in one sentence."""

    variant: str
    requirement: str
    index_url: str | None
    reason: str


def _version_tuple(text: str) -> tuple[int, int]:
    parts = [int(p) for p in text.strip().split(".")[:2] if p.isdigit()]
    return (parts + [0, 0])[0], (parts + [0, 0])[1]


def nvidia_driver(timeout: float = 10.0) -> tuple[str, list[str]] | None:
    """The NVIDIA driver version and GPU names from ``nvidia-smi``; ``None`` when there
    is no NVIDIA GPU (or no working driver)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=driver_version,name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    rows = [[c.strip() for c in line.split(",", 1)] for line in out.splitlines() if line.strip()]
    if not rows:
        return None
    return rows[0][0], [r[1] for r in rows if len(r) > 1]


def _plan(variant: str, reason: str) -> TorchPlan:
    if variant == "pypi":
        return TorchPlan("pypi", f"torch=={TORCH_VERSION}", None, reason)
    return TorchPlan(
        variant, f"torch=={TORCH_VERSION}+{variant}", f"{PYTORCH_INDEX}/{variant}", reason
    )


def choose(
    *, system: str | None = None, driver: str | None = None, override: str | None = None
) -> TorchPlan:
    """Pick the torch build for an operating system and NVIDIA driver version.

    Parameters
    ----------
    system
        ``platform.system()`` (Linux, Windows, Darwin).
    driver
        The NVIDIA driver version (``"550.54.14"``) or ``None`` without an NVIDIA GPU.
    override
        One of cpu, cu126, cu128, cu130, pypi (``MCRAGE_TORCH``).
    """
    system = system or platform.system()
    if override:
        choice = override.strip().lower()
        if choice not in _VARIANTS:
            raise ValueError(f"MCRAGE_TORCH={override!r}: choose one of {', '.join(_VARIANTS)}")
        return _plan(choice, f"MCRAGE_TORCH={choice} was set")
    if system == "Darwin":
        return _plan("pypi", "macOS: PyPI's build uses the Apple GPU (Metal) when there is one")
    if driver is None:
        if system == "Windows":
            return _plan("pypi", "no NVIDIA GPU found: PyPI's Windows build is CPU-only")
        return _plan("cpu", "no NVIDIA GPU found: the CPU-only build (no NVIDIA libraries)")
    have = _version_tuple(driver)
    for variant, cuda, needs in CUDA_BUILDS:
        if have >= needs:
            why = f"NVIDIA driver {driver} runs CUDA {cuda}"
            if variant == "cu130" and system == "Linux":
                return _plan("pypi", why + " (PyPI's default build)")
            return _plan(variant, why)
    if have >= _OLDEST_DRIVER:
        variant, cuda, needs = CUDA_BUILDS[-1]
        return _plan(variant, f"NVIDIA driver {driver} runs CUDA {cuda} (minor-version compat.)")
    return _plan(
        "cpu",
        f"NVIDIA driver {driver} is older than any CUDA build of torch {TORCH_VERSION} "
        f"supports (needs {_OLDEST_DRIVER[0]} or newer): the CPU-only build is installed; "
        "update the driver and run `make torch` to use the GPU",
    )


def pip_arguments(plan: TorchPlan) -> list[str]:
    """``pip install`` arguments for the plan (few retries, so an offline mirror of the
    index fails fast to the local wheels pip is configured with)."""
    args = ["install", "--retries", "2", plan.requirement]
    if plan.index_url:
        args += ["--index-url", plan.index_url]
    return args


def _installed() -> str | None:
    try:
        from importlib.metadata import version

        return version("torch")
    except Exception:  # noqa: BLE001 - not installed (PackageNotFoundError) or broken
        return None


def main(argv: list[str]) -> int:
    """``python torch_build.py [--install]``: print (and install) the chosen build."""
    found = nvidia_driver()
    try:
        plan = choose(driver=found[0] if found else None, override=os.environ.get("MCRAGE_TORCH"))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"torch build: {plan.variant} ({plan.requirement}): {plan.reason}", file=sys.stderr)
    if "--install" not in argv or plan.variant == "keep":
        return 0
    have = _installed()
    want = plan.requirement.split("==", 1)[1]
    if have == want or (plan.variant == "pypi" and have == TORCH_VERSION):
        print(f"torch {have} is already installed", file=sys.stderr)
        return 0
    return subprocess.call([sys.executable, "-m", "pip", *pip_arguments(plan)])


if __name__ == "__main__":  # pragma: no cover - run by make install
    raise SystemExit(main(sys.argv[1:]))
