"""Deploy function: deployment and schedule routes, the deploy worker and the scheduled tick.

`handler` (and the ASGI `app`) are built on first access, so `worker` and `scheduled`
never import FastAPI.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from kiln import telemetry
from kiln.workers import deploy_record, scheduled_tick

logger = Logger(service="kiln-deploy")
_processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
@telemetry.handler
def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=deploy_record, processor=_processor, context=context
    )


@logger.inject_lambda_context
@telemetry.handler
def scheduled(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return scheduled_tick(event)


def __getattr__(name: str) -> Any:
    from kiln.api import routes
    from kiln.api.app import create_app, lambda_handler

    if name == "handler":
        globals()[name] = lambda_handler(routes.DEPLOY)
    elif name == "app":
        globals()[name] = create_app(routes.DEPLOY)
    else:
        raise AttributeError(name)
    return globals()[name]
