"""Status function: the hot read path (jobs, projects, versions, health, OpenAPI)."""

from typing import Any

from kiln.api import routes
from kiln.api.app import create_app, lambda_handler

app = create_app(routes.STATUS)
handler: Any = lambda_handler(routes.STATUS)
