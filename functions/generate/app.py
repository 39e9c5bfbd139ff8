"""Generate function: POST /api/sessions, /api/generations, /api/generate and the SQS worker.

`handler` (and the ASGI `app`) are built on first access, so the worker never imports FastAPI.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from kiln import telemetry
from kiln.workers import generation_record

logger = Logger(service="kiln-generate")
_processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
@telemetry.handler
def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=generation_record, processor=_processor, context=context
    )


def __getattr__(name: str) -> Any:
    from kiln.api import routes
    from kiln.api.app import create_app, lambda_handler

    if name == "handler":
        globals()[name] = lambda_handler(routes.GENERATE)
    elif name == "app":
        globals()[name] = create_app(routes.GENERATE)
    else:
        raise AttributeError(name)
    return globals()[name]
