"""The local stack routes Plate Matched events as the deployed rule does: topic and webhook.

moto raises on an SNS target and calls an API destination with no body and no credentials;
the gaps patches deliver both as EventBridge documents it. These tests are their canaries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from moto.sns.models import sns_backends

from platescan import alerts, contract
from platescan.local import gaps
from platescan.local.runtime import ACCOUNT_ID, LocalStack
from platescan.local.webhook import API_KEY_HEADER, WebhookRecorder

DETAIL = {
    "alert_id": "upload-1#e1",
    "upload_id": "upload-1",
    "owner": "o",
    "plate_read": "ABO123",
    "confidence": 0.91,
    "how": "lookalike",
    "distance": 0.5,
    "entry": {"entry_id": "e1", "plate": "AB0123", "label": "", "note": "", "mode": "tolerant"},
    "source": "pipeline",
    "alerted_at": "2026-11-30T12:00:00.000Z",
}


@pytest.fixture
def hook() -> Iterator[WebhookRecorder]:
    with WebhookRecorder() as recorder:
        yield recorder


def test_an_alert_becomes_an_email_line_and_a_keyed_webhook_call(
    stack_factory: Callable[..., LocalStack], hook: WebhookRecorder
) -> None:
    stack = stack_factory(webhook_url=hook.url)
    gaps.REGISTRY.deliveries.clear()

    alerts.publish(stack.config.event_bus, DETAIL)

    # the topic got the transformer's one line, with an empty label left empty
    topic = sns_backends[ACCOUNT_ID][stack.config.region].topics[stack.alerts_topic_arn]
    ((_, message, *_),) = topic.sent_notifications
    assert message == (
        "platescan read ABO123 at 2026-11-30T12:00:00.000Z: it matches watchlist entry "
        "AB0123 (), lookalike match, confidence 0.91. Upload upload-1."
    )
    # the webhook got the whole event as JSON, with the connection's key in its header
    (call,) = hook.snapshot()
    assert call["headers"][API_KEY_HEADER] == "local-webhook-key"
    assert call["body"]["detail-type"] == "Plate Matched"
    assert call["body"]["source"] == "platescan"
    assert call["body"]["detail"] == DETAIL
    assert [d["kind"] for d in gaps.REGISTRY.deliveries] == ["sns", "webhook"]
    assert gaps.REGISTRY.deliveries[1]["status"] == 200


def test_without_a_webhook_only_the_topic_hears_of_it(
    stack_factory: Callable[..., LocalStack],
) -> None:
    stack = stack_factory()
    gaps.REGISTRY.deliveries.clear()
    alerts.publish(stack.config.event_bus, DETAIL)
    assert [d["kind"] for d in gaps.REGISTRY.deliveries] == ["sns"]


def test_other_events_on_the_bus_are_not_alerts(stack_factory: Callable[..., LocalStack]) -> None:
    stack = stack_factory()
    gaps.REGISTRY.deliveries.clear()
    from platescan import aws

    aws.client("events").put_events(
        Entries=[
            {
                "Source": contract.PLATE_MATCHED_SOURCE,
                "DetailType": "Something Else",
                "Detail": "{}",
                "EventBusName": stack.config.event_bus,
            }
        ]
    )
    assert gaps.REGISTRY.deliveries == []


def test_transform_input_follows_eventbridge() -> None:
    event = {"detail": {"a": "text", "n": 2, "m": {"k": 1}}}
    quoted = {"InputTransformer": {"InputPathsMap": {"a": "$.detail.a"}, "InputTemplate": '"<a>!"'}}
    assert gaps.transform_input(quoted, event) == "text!"
    as_json = {
        "InputTransformer": {
            "InputPathsMap": {"n": "$.detail.n", "m": "$.detail.m", "x": "$.detail.x"},
            "InputTemplate": '{"n": <n>, "m": <m>, "x": "<x>"}',
        }
    }
    assert gaps.transform_input(as_json, event) == '{"n": 2, "m": {"k": 1}, "x": ""}'
    assert gaps.transform_input({}, event) == '{"detail": {"a": "text", "n": 2, "m": {"k": 1}}}'
