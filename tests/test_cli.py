"""The `agora` command as an operator uses it: migrate, demo (twice), create-user."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agora.app import create_app
from tests.conftest import make_settings


def agora(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGORA_DATA_DIR": str(data_dir), "AGORA_ARGON2_TIME_COST": "1",
           "AGORA_ARGON2_MEMORY_KIB": "1024", "AGORA_DATABASE_URL": ""}
    env.pop("AGORA_DATABASE_URL")
    return subprocess.run([sys.executable, "-m", "agora.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("demo")
    assert agora(data_dir, "migrate").returncode == 0
    first = agora(data_dir, "demo")
    assert first.returncode == 0, first.stderr
    assert "Loaded the demo community" in first.stderr and "Demo login" in first.stderr
    return data_dir


def test_demo_is_idempotent(demo_dir: Path) -> None:
    again = agora(demo_dir, "demo")
    assert again.returncode == 0
    assert "already loaded" in again.stderr and "Demo login" in again.stderr


async def test_the_demo_member_meets_a_lively_community(demo_dir: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{demo_dir / 'agora.db'}", demo_dir)
    app = create_app(settings)
    await app.state.runtime.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            app_form = {"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write"}
            made = (await http.post("/api/v1/apps", json=app_form)).json()
            token = (await http.post("/oauth/token", data={
                "grant_type": "password", "username": "demo", "password": "agora-demo", "scope": "read",
                "client_id": made["client_id"], "client_secret": made["client_secret"]})).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            home = (await http.get("/api/v1/timelines/home", headers=headers, params={"limit": 40})).json()
            assert len(home) == 40
            me = (await http.get("/api/v1/accounts/verify_credentials", headers=headers)).json()
            assert me["following_count"] >= 10 and me["followers_count"] >= 5
            languages, public_ids = set(), set()
            page_url = "/api/v1/timelines/public?limit=40"
            for _ in range(15):  # walk the whole public timeline
                response = await http.get(page_url)
                languages |= {s["language"] for s in response.json()}
                public_ids |= {s["id"] for s in response.json()}
                if "next" not in response.links:
                    break
                page_url = response.links["next"]["url"]
            assert {"en", "de", "zh"} <= languages
            assert len(public_ids) > 100
            tagged = (await http.get("/api/v1/timelines/tag/marathon")).json()
            assert len(tagged) >= 5
            assert any(s["replies_count"] > 0 for s in home) and any(s["favourites_count"] > 0 for s in home)
            assert all(s["visibility"] == "public" for s in (await http.get("/api/v1/timelines/public")).json())
            # Chat: an inbox with unread messages, a group in Chinese, and a message request waiting.
            inbox = (await http.get("/api/v1/chats", headers=headers)).json()
            assert {c["kind"] for c in inbox} == {"direct", "group"} and "周末骑行" in {c["name"] for c in inbox}
            assert sum(c["unread_count"] for c in inbox) >= 2
            requests = (await http.get("/api/v1/chats", headers=headers, params={"requests": "true"})).json()
            assert [c["accounts"][0]["username"] for c in requests] == ["rafa_rides"]
            run = next(c for c in inbox if c["name"] == "Saturday long run")
            pinned = (await http.get(f"/api/v1/chats/{run['id']}/messages", headers=headers,
                                     params={"pinned": "true"})).json()
            assert [m["text"] for m in pinned] == ["Rain or shine. Only lightning cancels. ⚡"]
            said = (await http.get(f"/api/v1/chats/{run['id']}/messages", headers=headers)).json()
            assert any(r["name"] == "👍" and r["count"] == 2 for m in said for r in m["reactions"])
    finally:
        await app.state.runtime.stop()


def test_create_user_and_refuse_a_duplicate(tmp_path: Path) -> None:
    assert agora(tmp_path, "migrate").returncode == 0
    made = agora(tmp_path, "admin", "create-user", "olga", "--email", "olga@example.org",
                 "--password", "long-enough-1", "--admin")
    assert made.returncode == 0 and "created @olga" in made.stderr
    again = agora(tmp_path, "admin", "create-user", "OLGA", "--email", "x@example.org", "--password", "long-enough-1")
    assert again.returncode == 1 and "already taken" in again.stderr


def test_approve_lets_a_pending_member_in(tmp_path: Path) -> None:
    assert agora(tmp_path, "migrate").returncode == 0
    assert agora(tmp_path, "admin", "approve", "nobody").returncode == 1
    assert agora(tmp_path, "admin", "create-user", "pat", "--email", "pat@example.org",
                 "--password", "long-enough-1").returncode == 0
    approved = agora(tmp_path, "admin", "approve", "Pat")
    assert approved.returncode == 0 and "approved @pat" in approved.stderr
