"""Packages function: /pkg/<name>@<version>[/subpath] as browser ESM, behind CloudFront."""

from typing import Any

from kiln.api import routes
from kiln.api.app import create_app, lambda_handler

app = create_app(routes.PACKAGES)
handler: Any = lambda_handler(routes.PACKAGES)
