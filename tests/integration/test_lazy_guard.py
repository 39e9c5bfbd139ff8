"""The lazy-output guard judges only what was really lost: a skeleton file the model
replaces, or a file the instruction asks to rewrite, is not "cut down"; placeholders and
unasked truncation of the user's own code still are."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiln.frameworks import skeleton
from kiln.models import Framework
from tests.fakes.llm_servers import FakeLLMServer

pytestmark = pytest.mark.integration

Drain = Callable[[], list[str]]

TAILWIND_CSS = (
    '@import "tailwindcss";\n\n@theme {\n  --color-brand: #0ea5e9;\n}\n\n'
    "body {\n  @apply bg-slate-50;\n}\n"
)
ROWS = "".join(f"      <li>Row {i}</li>\n" for i in range(30))
USER_APP = f"export default function App() {{\n  return (\n    <ul>\n{ROWS}    </ul>\n  );\n}}\n"
SHORT_APP = "export default function App() {\n  return <button>Add</button>;\n}\n"


def run(client: TestClient, drain: Drain, **body: Any) -> dict[str, Any]:
    resp = client.post("/api/generations", json={"framework": "react", **body})
    assert resp.status_code == 202, resp.text
    drain()
    return client.get(f"/api/jobs/{resp.json()['job_id']}").json()  # type: ignore[no-any-return]


def files(client: TestClient, pid: str, n: int) -> dict[str, str]:
    return client.get(f"/api/projects/{pid}/versions/{n}").json()["files"]  # type: ignore[no-any-return]


@pytest.fixture
def user_project(mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain) -> str:
    """A project whose src/App.tsx is the user's own 37-line list."""
    fake_openai.queue_text(f'<kiln-file path="src/App.tsx">\n{USER_APP}\n</kiln-file>\n')
    job = run(mclient, drain, prompt="a list app")
    assert job["status"] == "succeeded", job
    return str(job["project_id"])


def test_a_new_app_may_replace_the_skeletons_long_css_with_a_short_tailwind_file(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain
) -> None:
    assert len(skeleton(Framework.react)["src/index.css"].splitlines()) >= 20
    fake_openai.queue_text(f'<kiln-file path="src/index.css">\n{TAILWIND_CSS}\n</kiln-file>\n')
    job = run(mclient, drain, prompt="a landing page styled with Tailwind")
    assert job["status"] == "succeeded", job.get("error")
    assert files(mclient, job["project_id"], 1)["src/index.css"] == TAILWIND_CSS
    assert len(fake_openai.posts) == 1


def test_an_edit_may_replace_a_skeleton_file_the_user_never_changed(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain, user_project: str
) -> None:
    fake_openai.queue_text(f'<kiln-file path="src/index.css">\n{TAILWIND_CSS}\n</kiln-file>\n')
    job = run(mclient, drain, prompt="use Tailwind for the styles", project_id=user_project)
    assert job["status"] == "succeeded", job.get("error")
    assert files(mclient, user_project, 2)["src/index.css"] == TAILWIND_CSS


def test_a_file_the_instruction_asks_to_rewrite_may_come_back_shorter(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain, user_project: str
) -> None:
    fake_openai.queue_text(f'<kiln-file path="src/App.tsx">\n{SHORT_APP}\n</kiln-file>\n')
    job = run(
        mclient, drain, prompt="Rewrite App.tsx as a single Add button", project_id=user_project
    )
    assert job["status"] == "succeeded", job.get("error")
    assert files(mclient, user_project, 2)["src/App.tsx"] == SHORT_APP


def test_unasked_truncation_of_the_users_own_code_is_still_refused(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain, user_project: str
) -> None:
    fake_openai.queue_text(f'<kiln-file path="src/App.tsx">\n{SHORT_APP}\n</kiln-file>\n')
    fake_openai.queue_text(f'<kiln-file path="src/App.tsx">\n{SHORT_APP}\n</kiln-file>\n')
    job = run(mclient, drain, prompt="add an Add button", project_id=user_project)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "lazy_output"
    assert "src/App.tsx" in job["error"]["message"]
    assert files(mclient, user_project, 1)["src/App.tsx"] == USER_APP


def test_asking_to_rewrite_one_file_does_not_excuse_cutting_another(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain, user_project: str
) -> None:
    reply = (
        f'<kiln-file path="src/index.css">\n{TAILWIND_CSS}\n</kiln-file>\n'
        f'<kiln-file path="src/App.tsx">\n{SHORT_APP}\n</kiln-file>\n'
    )
    fake_openai.queue_text(reply)
    fake_openai.queue_text(reply)
    job = run(mclient, drain, prompt="rewrite index.css with Tailwind", project_id=user_project)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "lazy_output"
    assert "src/App.tsx" in job["error"]["message"]


def test_a_placeholder_in_a_new_app_is_still_caught(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain
) -> None:
    lazy = (
        '<kiln-file path="src/index.css">\n@import "tailwindcss";\n'
        "/* ... rest unchanged */\n</kiln-file>\n"
    )
    fake_openai.queue_text(lazy)
    fake_openai.queue_text(lazy)
    job = run(mclient, drain, prompt="a landing page styled with Tailwind")
    assert job["status"] == "failed"
    assert job["error"]["code"] == "lazy_output"
    assert "placeholder" in job["error"]["message"]
