"""Routers, one module per noun; `ALL` feeds the combined OpenAPI document."""

from kiln.api.routes import (
    checks,
    deployments,
    generations,
    health,
    jobs,
    packages,
    previews,
    projects,
    schedules,
    sessions,
)

GENERATE = [sessions.router, generations.router]
STATUS = [
    jobs.router,
    projects.router,
    checks.router,
    previews.router,
    health.router,
    packages.router,
]
PACKAGES = [packages.modules]
DEPLOY = [deployments.router, schedules.router]
ALL = [*GENERATE, *STATUS, *DEPLOY, *PACKAGES]
