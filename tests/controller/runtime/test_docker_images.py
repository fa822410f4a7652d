"""Resolving image references on the engine, without any registry."""

from __future__ import annotations

import docker  # type: ignore[import-untyped]
import pytest

from controller.runtime.docker import DockerRuntime
from controller.runtime.errors import ImageNotFound

pytestmark = pytest.mark.engine


def test_resolve_image_returns_the_local_image_id(
    runtime: DockerRuntime, engine: docker.DockerClient, test_image: str
) -> None:
    image = runtime.resolve_image(test_image)

    assert image.reference == test_image
    assert image.image_id == engine.images.get(test_image).id
    assert image.image_id.startswith("sha256:")
    assert image.repo_digest is None  # built here, never pushed


def test_resolve_image_accepts_a_short_image_id(
    runtime: DockerRuntime, test_image: str
) -> None:
    full = runtime.resolve_image(test_image).image_id
    short = full.removeprefix("sha256:")[:12]

    assert runtime.resolve_image(short).image_id == full


def test_resolve_image_raises_image_not_found_for_an_unknown_tag(
    runtime: DockerRuntime, run_token: str
) -> None:
    reference = f"bgctl-runtime-test:absent-{run_token}"

    with pytest.raises(ImageNotFound) as caught:
        runtime.resolve_image(reference)

    assert caught.value.reference == reference
    assert repr(reference) in str(caught.value)


def test_resolve_image_never_pulls_a_public_image(runtime: DockerRuntime) -> None:
    reference = "busybox:1.36-bgctl-absent"

    with pytest.raises(ImageNotFound):
        runtime.resolve_image(reference)


def test_resolve_image_explains_an_invalid_reference(runtime: DockerRuntime) -> None:
    with pytest.raises(ImageNotFound, match="lowercase"):
        runtime.resolve_image("Not-Lower:1")
