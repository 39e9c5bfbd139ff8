"""Builder function: builds and renders one project version, holding no credential.

Its role may write its logs and nothing else; it reads the files and writes the result
through presigned URLs that the orchestrating worker sends (`kiln.gate.builder`).
"""

from typing import Any

from aws_lambda_powertools import Logger

from kiln.config import get_settings
from kiln.gate.builder import serve_build

logger = Logger(service="kiln-builder")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return serve_build(event, get_settings())
