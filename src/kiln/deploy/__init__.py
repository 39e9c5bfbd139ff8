"""Deploy targets: vercel, netlify, github (Pages) and s3 (kiln's own bucket).

Each target module has one `deploy(site, *, ..., journal, save, progress)` function
that resumes from its journal and returns a `DeployOutcome` (`deploy.journal`). The
token-based targets call their provider through `deploy.http.ProviderApi`; static
targets build through `deploy.site.build_site`. `deploy.runner` runs a deploy job,
`deploy.schedules` holds scheduled redeploys.
"""
