"""The image policy: repository patterns, how they match, and bad settings."""

from __future__ import annotations

import pytest

from controller.errors import ImageNotAllowed
from controller.policy import ImagePolicy, parse_patterns, repository_of
from controller.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        ("bgctl-sample:v2", "bgctl-sample"),
        ("bgctl-sample", "bgctl-sample"),
        ("registry.local:5000/team/web:1.2", "registry.local:5000/team/web"),
        ("registry.local:5000/team/web", "registry.local:5000/team/web"),
        ("team/web@sha256:" + "a" * 64, "team/web"),
        ("team/web:v1@sha256:" + "a" * 64, "team/web"),
    ],
)
def test_the_repository_drops_tag_and_digest(reference: str, repository: str) -> None:
    assert repository_of(reference) == repository


def test_an_empty_policy_allows_every_image() -> None:
    assert ImagePolicy().allows("anything/at-all:v1")


@pytest.mark.parametrize(
    "reference",
    [
        "bgctl-sample:v1",
        "registry.local/team/web:v2",
        "registry.local/team/deep/web:v2",
        "registry.local/team/web@sha256:" + "b" * 64,
    ],
)
def test_patterns_allow_their_repositories(reference: str) -> None:
    policy = ImagePolicy(("bgctl-sample", "registry.local/team/*"))
    assert policy.allows(reference)


@pytest.mark.parametrize(
    "reference",
    [
        "bgctl-sample-evil:v1",
        "evil/bgctl-sample:v1",
        "registry.local/team:v1",
        "registry.local/other/web:v1",
        "registry.local.evil/team/web:v1",
    ],
)
def test_patterns_refuse_every_other_repository(reference: str) -> None:
    policy = ImagePolicy(("bgctl-sample", "registry.local/team/*"))
    assert not policy.allows(reference)


def test_a_wildcard_inside_a_name_matches_any_run_of_characters() -> None:
    policy = ImagePolicy(("bgctl-*-web",))
    assert policy.allows("bgctl-blue-web:v1")
    assert not policy.allows("bgctl-blue-api:v1")


def test_a_refusal_names_the_image_and_lists_the_patterns() -> None:
    policy = ImagePolicy(("bgctl-sample", "registry.local/team/*"))
    with pytest.raises(ImageNotAllowed) as caught:
        policy.check("other:v1")
    body = caught.value.to_dict()["error"]
    assert caught.value.status_code == 403
    assert body["code"] == "image_not_allowed"
    assert body["image"] == "other:v1"
    assert body["allowed"] == ["bgctl-sample", "registry.local/team/*"]
    assert "'other:v1'" in body["message"]
    assert "registry.local/team/*" in body["message"]


def test_patterns_are_read_from_a_comma_separated_list() -> None:
    raw = " bgctl-sample , registry.local:5000/team/* "
    assert parse_patterns(raw) == ("bgctl-sample", "registry.local:5000/team/*")


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [
        ("", "''"),
        ("bgctl-sample,,other", "'bgctl-sample,,other'"),
        ("Bgctl-Sample", "'Bgctl-Sample'"),
        ("bgctl sample", "'bgctl sample'"),
        ("bgctl-sample:v1", "'bgctl-sample:v1'"),
        ("team/web@sha256:abc", "'team/web@sha256:abc'"),
    ],
)
def test_a_bad_setting_fails_at_start_naming_the_variable(
    raw: str, quoted: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"BGCTL_ALLOWED_IMAGES": raw})
    message = str(caught.value)
    assert message.startswith("BGCTL_ALLOWED_IMAGES ")
    assert quoted in message


def test_without_the_setting_every_image_is_allowed() -> None:
    assert Settings.from_env({}).allowed_images == ()
