"""Delivers SQS messages to the same worker handlers Lambda would run, and ticks the scheduler."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger

from kiln.local.functions import LambdaContext

logger = Logger(service="kiln-local")

Handler = Callable[[dict[str, Any], Any], Any]


def sqs_event(queue_arn: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


class QueuePump:
    """Long-polls one queue and invokes `handler` with batch size 1, like the event source
    mapping: a message reported in batchItemFailures (or whose invocation crashed) stays
    on the queue and comes back after its visibility timeout."""

    def __init__(
        self, sqs: Any, queue_url: str, handler: Handler, function_name: str, concurrency: int = 8
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.handler = handler
        self.function_name = function_name
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=function_name)
        self.slots = threading.Semaphore(concurrency)
        self.stopped = threading.Event()
        attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self.queue_arn = attrs["Attributes"]["QueueArn"]
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"pump-{function_name}")

    def start(self) -> QueuePump:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self.stopped.is_set():
            self.slots.acquire()
            try:
                resp = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=1,
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                )
            except Exception:
                self.slots.release()
                if not self.stopped.is_set():
                    logger.exception("queue poll failed")
                    time.sleep(1)
                continue
            messages = resp.get("Messages", [])
            if not messages:
                self.slots.release()
                continue
            self.pool.submit(self._invoke, messages[0])

    def _invoke(self, message: dict[str, Any]) -> None:
        try:
            result = self.handler(
                sqs_event(self.queue_arn, [message]), LambdaContext(self.function_name)
            )
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
            if message["MessageId"] not in failed:
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        except Exception:
            logger.exception("worker invocation failed", extra={"function": self.function_name})
        finally:
            self.slots.release()


class Ticker:
    """Calls the scheduled handler every `interval_s`, as EventBridge would."""

    def __init__(self, handler: Handler, interval_s: float, function_name: str) -> None:
        self.handler = handler
        self.interval_s = interval_s
        self.function_name = function_name
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="ticker")

    def start(self) -> Ticker:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def _run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            try:
                self.handler(
                    {"source": "aws.scheduler", "detail-type": "kiln.tick"},
                    LambdaContext(self.function_name),
                )
            except Exception:
                logger.exception("scheduled tick failed")
