"""Packaging: what `pip install .` declares and ships, the lock, the tested floors, the
torch build chosen per machine and the `mcrage dashboard` command."""

from __future__ import annotations

import ast
import importlib.metadata as md
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from mcrage_core.diffusion.compute import explain
from mcrage_core.util.torch_build import choose, pip_arguments

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
EXTRAS = PYPROJECT["project"]["optional-dependencies"]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _floor(req: Requirement) -> str:
    floors = [s.version for s in req.specifier if s.operator == ">="]
    assert len(floors) == 1, f"{req} must declare exactly one >= floor"
    return floors[0]


def test_min_requirements_are_exactly_the_declared_floors():
    pins = _pins(ROOT / "requirements-min.txt")
    for req in RUNTIME:
        name = canonicalize_name(req.name)
        if name == "torch":
            assert name not in pins  # chosen per machine by torch_build
            continue
        assert name in pins, f"requirements-min.txt lacks {req.name}"
        assert Version(pins[name]) == Version(_floor(req)), f"requirements-min.txt: {req.name}"


def test_lock_pins_every_declared_dependency_within_its_range():
    pins = _pins(ROOT / "requirements.lock")
    assert "torch" not in pins and not any(p.startswith("nvidia-") for p in pins)
    declared = RUNTIME + [Requirement(r) for group in EXTRAS.values() for r in group]
    for req in declared:
        name = canonicalize_name(req.name)
        if name == "torch":
            continue
        assert name in pins, f"{req.name} is declared but not in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), f"lock {name}=={pins[name]}"


def _third_party_imports() -> set[str]:
    found: set[str] = set()
    for folder in ("mcrage_core", "dashboard"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"mcrage_core", "dashboard", "__future__"}


def test_every_imported_library_is_a_declared_dependency():
    dist_of = md.packages_distributions()
    declared = {canonicalize_name(r.name) for r in RUNTIME}
    for extra in ("auth", "ray"):
        declared |= {canonicalize_name(Requirement(r).name) for r in EXTRAS[extra]}
    missing = {}
    for module in _third_party_imports():
        dists = {canonicalize_name(d) for d in dist_of.get(module, [module])}
        if not dists & declared:
            missing[module] = sorted(dists)
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_ray_stays_optional():
    """The default install has no Ray: it is imported only inside functions, and the whole
    library imports with ``ray`` made unimportable."""
    for folder in ("mcrage_core", "dashboard"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:  # module level only
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                assert not any(n.split(".")[0] == "ray" for n in names), path
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "import mcrage_core.evaluation, mcrage_core.diffusion, mcrage_core.commands.audit\n"
        "from mcrage_core.util.ray_cluster import connect\n"
        "from mcrage_core.errors import ConfigError\n"
        "try:\n    connect('127.0.0.1:1')\nexcept ConfigError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "mcrage[ray]"' in out.stdout


def test_python_floor_is_the_tested_one():
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    assert sys.version_info >= (3, 11)


def test_bundled_streamlit_settings_match_the_checkout_ones():
    bundled = tomllib.loads((ROOT / "dashboard" / "streamlit.toml").read_text())
    checkout = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert bundled == checkout


@pytest.mark.slow
def test_wheel_ships_the_cli_dashboard_and_samples(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("mcrage-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = z.read(next(n for n in names if n.endswith("METADATA"))).decode()
        entry = z.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    for path in (
        "dashboard/app.py",
        "dashboard/streamlit.toml",
        "dashboard/app_pages/data.py",
        "dashboard/components/train_form.py",
        "mcrage_samples/support2.csv",
        "mcrage_samples/README.md",
        "mcrage_core/util/torch_build.py",
        "mcrage_core/commands/dashboard.py",
    ):
        assert path in names, path
    assert "mcrage = mcrage_core.cli:main" in entry
    assert "Requires-Dist: streamlit>=" in meta and "Requires-Dist: torch>=" in meta
    assert "Requires-Python: >=3.11" in meta


@pytest.mark.parametrize(
    ("system", "driver", "variant", "index"),
    [
        ("Linux", None, "cpu", "https://download.pytorch.org/whl/cpu"),
        ("Linux", "590.10", "pypi", None),
        ("Linux", "580.65.06", "pypi", None),
        ("Linux", "575.51.03", "cu128", "https://download.pytorch.org/whl/cu128"),
        ("Linux", "560.35", "cu126", "https://download.pytorch.org/whl/cu126"),
        ("Linux", "535.183.01", "cu126", "https://download.pytorch.org/whl/cu126"),
        ("Linux", "470.256.02", "cpu", "https://download.pytorch.org/whl/cpu"),
        ("Windows", None, "pypi", None),
        ("Windows", "581.15", "cu130", "https://download.pytorch.org/whl/cu130"),
        ("Darwin", None, "pypi", None),
    ],
)
def test_torch_build_follows_the_driver(system, driver, variant, index):
    plan = choose(system=system, driver=driver)
    assert plan.variant == variant
    assert plan.index_url == index
    args = pip_arguments(plan)
    assert plan.requirement in args
    assert ("--index-url" in args) == (index is not None)
    if variant == "cpu" and driver:
        assert "older" in plan.reason and "make torch" in plan.reason


def test_torch_build_override_and_bad_override():
    assert choose(system="Linux", driver="590.1", override="cpu").variant == "cpu"
    with pytest.raises(ValueError, match="MCRAGE_TORCH"):
        choose(system="Linux", driver=None, override="rocm")


def test_this_machine_has_the_build_make_install_chose():
    import torch

    if choose().variant == "cpu":  # no NVIDIA GPU here: no NVIDIA libraries either
        assert torch.version.cuda is None and torch.__version__.endswith("+cpu")
        assert not [d for d in md.distributions() if d.metadata["Name"].startswith("nvidia-")]


def test_compute_panel_explains_an_unused_gpu():
    reason, advice = explain(
        torch_build="2.13.0+cpu", cuda_build=None, driver="550.54", cuda_available=False,
        mps_available=False, cpu_count=8,
    )  # fmt: skip
    assert "CPU-only build" in reason and "550.54" in reason and "8 cores" in reason
    assert advice and "torch==2.13.0+cu126" in advice
    reason, advice = explain(
        torch_build="2.13.0", cuda_build="13.0", driver="550.54", cuda_available=False,
        mps_available=False,
    )  # fmt: skip
    assert "needs driver 580.65" in reason and advice and "driver" in advice
    reason, advice = explain(
        torch_build="2.13.0+cpu", cuda_build=None, driver=None, cuda_available=False,
        mps_available=False, cpu_count=2,
    )  # fmt: skip
    assert reason.startswith("No NVIDIA GPU was found") and advice is None


def test_dashboard_command_carries_the_server_settings():
    proc = subprocess.run(
        [sys.executable, "-m", "mcrage_core.cli", "dashboard", "--print-command", "--port", "8999"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    cmd = proc.stdout
    assert "streamlit run" in cmd and str(ROOT / "dashboard" / "app.py") in cmd
    for flag in ("--server.enableXsrfProtection=true", "--client.showErrorDetails=none"):
        assert flag in cmd
    assert "--server.port=8999" in cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_dashboard_command_serves_the_app(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcrage_core.cli", "dashboard", "--port", str(port)]
        + ["--address", "127.0.0.1"],
        cwd=tmp_path,  # not the checkout: the bundled settings must still apply
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline, ok = time.monotonic() + 60, False
        while time.monotonic() < deadline and not ok:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as r:
                    ok = r.status == 200
            except OSError:
                time.sleep(0.5)
        assert ok, "the dashboard did not answer within 60 s"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
