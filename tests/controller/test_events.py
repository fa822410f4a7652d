"""The event hub: order, filters, a slow subscriber dropped, nothing kept after."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from controller.api.events import frame, frames
from controller.events import (
    CHAOS_RUN,
    RELEASE_NOTE,
    RELEASE_PHASE,
    STREAM_CLOSED,
    STREAM_DROPPED,
    Event,
    EventHub,
    Subscription,
)
from controller.phases import Phase
from controller.spec import ServiceSpec
from controller.store import EventRecord, Store
from proxy.routes import Color

SPEC = ServiceSpec.model_validate(
    {
        "name": "web",
        "image": "bgctl-sample",
        "port": 8000,
        "endpoints": {"live": 18080, "preview": 18081, "blue": 18082, "green": 18083},
    }
)


async def drain(subscription: Subscription) -> list[Event]:
    """Every event queued now, without waiting for more."""
    found = []
    while (event := await subscription.next(0.01)) is not None:
        found.append(event)
    return found


def test_events_arrive_in_publishing_order_with_rising_ids() -> None:
    async def scenario() -> list[Event]:
        hub = EventHub()
        subscription = hub.subscribe()
        for phase in ("Pending", "Deploying", "Verifying"):
            hub.publish(RELEASE_PHASE, "web", release="r1", phase=phase)
        return await drain(subscription)

    events = asyncio.run(scenario())
    assert [e.phase for e in events] == ["Pending", "Deploying", "Verifying"]
    assert [e.id for e in events] == sorted({e.id for e in events})


def test_a_subscriber_gets_only_its_service_and_types() -> None:
    async def scenario() -> list[Event]:
        hub = EventHub()
        subscription = hub.subscribe("web", [RELEASE_PHASE, CHAOS_RUN])
        hub.publish(RELEASE_PHASE, "api", release="r1", phase="Pending")
        hub.publish(RELEASE_NOTE, "web", release="r2", reason="a note")
        hub.publish(CHAOS_RUN, "web", run="run-1", status="running")
        hub.publish(RELEASE_PHASE, "web", release="r2", phase="Live")
        return await drain(subscription)

    events = asyncio.run(scenario())
    assert [(e.type, e.service) for e in events] == [
        (CHAOS_RUN, "web"),
        (RELEASE_PHASE, "web"),
    ]


def test_a_subscriber_that_falls_behind_is_dropped_with_a_last_event() -> None:
    async def scenario() -> tuple[list[Event], list[Event], int]:
        hub = EventHub(queue_size=3)
        slow, keeping_up = hub.subscribe(), hub.subscribe()
        kept: list[Event] = []
        for n in range(5):
            hub.publish(RELEASE_NOTE, "web", release="r1", reason=f"line {n}")
            kept += await drain(keeping_up)
        return await drain(slow), kept, hub.subscribers

    slow, kept, left = asyncio.run(scenario())
    assert [e.reason for e in slow[:3]] == ["line 0", "line 1", "line 2"]
    assert slow[-1].type == STREAM_DROPPED and slow[-1].is_last
    assert "fell 3 events behind" in slow[-1].reason
    assert len(slow) == 4  # nothing after the last event
    assert [e.reason for e in kept] == [f"line {n}" for n in range(5)]
    assert left == 1


def test_nothing_is_kept_for_a_subscriber_after_it_leaves() -> None:
    async def scenario() -> tuple[int, int]:
        hub = EventHub(queue_size=2)
        subscription = hub.subscribe("web")
        hub.unsubscribe(subscription)
        for n in range(10):
            hub.publish(RELEASE_NOTE, "web", reason=f"line {n}")
        return hub.subscribers, len(await drain(subscription))

    assert asyncio.run(scenario()) == (0, 0)


def test_a_stream_ends_with_stream_closed_and_leaves_the_hub() -> None:
    async def scenario() -> tuple[list[str], int]:
        hub = EventHub()
        subscription = hub.subscribe("web")
        texts = []
        async for text in frames(hub, subscription, heartbeat=0.01):
            texts.append(text)
            if text == ": heartbeat\n\n":
                hub.publish(RELEASE_PHASE, "web", release="r1", phase="Live")
                hub.close()
        return texts, hub.subscribers

    texts, left = asyncio.run(scenario())
    assert texts[0] == ": connected\n\n"
    assert "event: release.phase\n" in texts[2]
    assert texts[-1].startswith("id: ") and f"event: {STREAM_CLOSED}\n" in texts[-1]
    assert left == 0


def test_a_subscriber_after_the_close_gets_only_the_last_event() -> None:
    async def scenario() -> list[Event]:
        hub = EventHub()
        hub.subscribe()
        hub.close()
        await asyncio.sleep(0)
        return await drain(hub.subscribe())

    assert [e.type for e in asyncio.run(scenario())] == [STREAM_CLOSED]


def test_events_published_from_another_thread_reach_the_loop() -> None:
    async def scenario() -> list[Event]:
        hub = EventHub()
        subscription = hub.subscribe()
        worker = threading.Thread(
            target=hub.publish, args=(CHAOS_RUN, "web"), kwargs={"run": "run-1"}
        )
        worker.start()
        worker.join()
        return [e for e in [await subscription.next(1.0)] if e is not None]

    assert [e.run for e in asyncio.run(scenario())] == ["run-1"]


def test_a_frame_carries_the_id_the_type_and_one_line_of_json() -> None:
    at = "2024-01-01T00:00:00.000+00:00"
    event = Event(7, RELEASE_NOTE, at, "web", "r1", reason="two\nlines")
    text = frame(event)
    assert text.startswith("id: 7\nevent: release.note\ndata: {")
    assert text.endswith("}\n\n") and text.count("\n") == 4
    assert '"reason":"two\\nlines"' in text and "run" not in text


def test_the_store_tells_its_listener_every_timeline_line(tmp_path: Path) -> None:
    heard: list[tuple[str, str, Phase, bool]] = []

    def listener(
        service: str, release_id: str, line: EventRecord, *, changed: bool
    ) -> None:
        heard.append((service, release_id, line.phase, changed))

    store = Store(tmp_path / "state.db", listener=listener)
    store.put_service(SPEC)
    release = store.create_release(SPEC, "v1", "sha256:1", Color.BLUE, "me", "new")
    store.note(release.id, "me", "a note")
    store.transition(release.id, Phase.DEPLOYING, "me", "go")
    store.close()
    assert heard == [
        ("web", release.id, Phase.PENDING, True),
        ("web", release.id, Phase.PENDING, False),
        ("web", release.id, Phase.DEPLOYING, True),
    ]
