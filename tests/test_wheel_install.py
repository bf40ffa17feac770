"""What a ``pip install`` user gets: the built wheel in a fresh venv, run with no repository.

The wheel is built as a release would be (``python -m build``: the sdist, then the wheel from the
sdist), so a file the sdist leaves out is missing here too. The fresh venv gets only the wheel;
its dependencies are the ones this venv already has, linked in by distribution (ivr's own
requirements, followed through theirs), so nothing is fetched and no other package leaks in.
This takes half a minute or so: it builds, installs and runs ``ivr`` five times.
"""

import os
import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from ivr.bundled import BUNDLED

REPO = Path(__file__).resolve().parents[1]


def dependencies(name: str) -> dict[str, Path]:
    """The top-level entries in site-packages of ``name``'s dependencies, followed through."""
    entries: dict[str, Path] = {}
    seen: set[str] = set()
    todo = [name]
    while todo:
        dist = distribution(todo.pop())
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            key = requirement.name.lower().replace("_", "-")
            if key not in seen:
                seen.add(key)
                todo.append(requirement.name)
        if dist.metadata["Name"].lower() == name:
            continue
        for file in dist.files or []:
            if file.parts[0] != "..":
                entries.setdefault(file.parts[0], Path(file.locate()).parents[len(file.parts) - 1])
    return {top: root / top for top, root in entries.items()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    return dist


@pytest.fixture(scope="module")
def wheel(built) -> Path:
    (path,) = built.glob("ivr-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheel) -> Path:
    """A fresh venv with the wheel installed; returns its bin folder."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
    )
    linked = venv / "dependencies"
    linked.mkdir()
    for top, source in dependencies("ivr").items():
        (linked / top).symlink_to(source)
    site = sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)})
    (Path(site) / "dependencies.pth").write_text(f"{linked}\n")
    return venv / "bin"


def test_the_wheel_holds_every_module_and_every_bundled_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "ivr").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert modules - names == set()
    for folder in BUNDLED:
        files = {
            f"ivr/_data/{p.relative_to(REPO).as_posix()}"
            for p in (REPO / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
        }
        assert files and files - names == set(), folder
    starter = {f"ivr/starter/flows/{p.name}" for p in (REPO / "ivr/starter/flows").glob("*.yaml")}
    assert starter and starter - names == set()


def test_the_sdist_was_built_beside_the_wheel(built):
    assert [p.name for p in built.glob("ivr-*.tar.gz")]


def test_an_installed_wheel_runs_init_validate_test_and_demo_without_the_repository(
    installed, tmp_path, wheel
):
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": f"{installed}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "LANG": "C.UTF-8",
    }

    def ivr(*args: str, cwd: Path = home) -> str:
        done = subprocess.run(
            ["ivr", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"ivr {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    version = wheel.name.split("-")[1]
    assert ivr("--version") == f"ivr {version}\n"
    ivr("init", "p")
    project = home / "p"
    assert ivr("validate", ".", cwd=project).endswith("All good.\n")
    assert ivr("test", ".", cwd=project).splitlines()[-1] == "5 passed, 0 failed"
    demo = ivr("demo", "--keys", "0", cwd=project)
    assert demo.startswith("Calling 18005550100 from +15550001111: flow main, Example Company")
    # The examples and config came from the wheel, not from a checkout.
    where = ivr("demo", "--keys", "9", "-v", cwd=home)
    assert "flow acme_bank" in where
    site = subprocess.run(
        [str(installed / "python"), "-c", "import ivr.bundled as b; print(b.bundled('flows'))"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(site).parts[-3:] == ("ivr", "_data", "flows")
    assert REPO not in Path(site).parents
