"""Routers, one module per noun; `ALL` feeds the combined OpenAPI document."""

from kiln.api.routes import generations, health, jobs, projects, sessions

GENERATE = [sessions.router, generations.router]
STATUS = [jobs.router, projects.router, health.router]
DEPLOY: list = []  # type: ignore[type-arg]
ALL = [*GENERATE, *STATUS, *DEPLOY]
