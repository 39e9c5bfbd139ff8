"""Errors with stable codes; one table maps each class to its HTTP status.

KilnError
├── BadRequest          400  bad_request, invalid_json, prompt_empty, ...
├── Unauthorized        401  unauthorized
├── Forbidden           403  direct_access_refused
├── NotFound            404  not_found
├── Conflict            409  version_conflict, job_not_cancellable, too_many_schedules,
│                            session_taken, project_busy, project_empty,
│                            too_many_subscribers, too_many_subscriptions (push)
├── Gone                410  preview_expired
├── PayloadTooLarge     413  payload_too_large, prompt_too_long, file_too_large,
│                            context_too_long
├── Unprocessable       422  validation_error, unsafe_path, too_many_files, own_token_required,
│                            model_not_allowed, budget_above_cap, invalid_session_id
│   └── InvalidCheck         check_invalid (an acceptance check that does not parse)
├── RateLimited         429  rate_limited, quota_exceeded, spend_ceiling_reached
├── ProviderError       502  provider_*, deploy_*, output_truncated (job failures)
├── Unavailable         503  registry_unavailable, subscribe_busy (retryable)
├── TimedOut            504  package_build_timeout
└── LeaseLost           ---  internal: another worker owns the job now
"""

from __future__ import annotations

from typing import Any


class KilnError(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class BadRequest(KilnError):
    status = 400
    code = "bad_request"


class Unauthorized(KilnError):
    status = 401
    code = "unauthorized"


class Forbidden(KilnError):
    status = 403
    code = "forbidden"


class NotFound(KilnError):
    status = 404
    code = "not_found"


class Conflict(KilnError):
    status = 409
    code = "conflict"


class Gone(KilnError):
    status = 410
    code = "gone"


class PayloadTooLarge(KilnError):
    status = 413
    code = "payload_too_large"


class Unprocessable(KilnError):
    status = 422
    code = "validation_error"


class InvalidCheck(Unprocessable):
    """An acceptance check (kiln.checks) that breaks its grammar or its limits."""

    code = "check_invalid"


class RateLimited(KilnError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 60, code: str | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after": retry_after})
        self.retry_after = retry_after


class ProviderError(KilnError):
    """A model or deploy provider failed; `code` says how (provider_auth, provider_timeout...)."""

    status = 502
    code = "provider_unavailable"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class LeaseLost(KilnError):
    code = "lease_lost"


class Unavailable(KilnError):
    """A service kiln depends on (the npm registry) did not answer; retrying may work."""

    status = 503
    code = "service_unavailable"


class TimedOut(KilnError):
    status = 504
    code = "timeout"
