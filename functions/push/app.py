"""Push function: the WebSocket API's routes (`websocket`) and the table's stream (`stream`)."""

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from kiln import telemetry
from kiln.push import handle_stream, handle_websocket
from kiln.store.db import Store

logger = Logger(service="kiln-push")
store = cache(Store)


@logger.inject_lambda_context
@telemetry.handler
def websocket(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_websocket(store(), event)


@logger.inject_lambda_context
@telemetry.handler
def stream(event: dict[str, Any], context: Any) -> dict[str, int]:
    return handle_stream(store(), event)
