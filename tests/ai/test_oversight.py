"""Oversight of the assistant: members' opt-out from being read, the audit log operators browse and
export (and nobody else sees), the kill switch made visible, the AI label on every /v1 completion.

Real services and databases throughout; answers come through `answer_question` and /v1 as members
and clients get them, the audit log through the operators' page, its export and the CLI.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import openai
import pytest
from sqlalchemy import select, update

from agora.accounts.oauth import Grant
from agora.ai import audit
from agora.ai.assistant import Answer
from agora.ai.engines import Delta
from agora.ai.openai_assistant import recording
from agora.config import Settings
from agora.kit.db import Database
from agora.kit.runtime import Runtime
from agora.models import Account, AiAudit
from tests.ai.serving import install_and_promote, live_member
from tests.ai.test_assistant import OPENED, RAMEN, ask, embedded
from tests.conftest import LiveServer, app_client
from tests.factories import Member, make_member, post
from tests.web.pages import form_post, signed_in

QUEUE = "queue went round the block"


async def make_admin(runtime: Runtime, member: Member) -> None:
    async with runtime.db.transaction() as session:
        await session.execute(update(Account).where(Account.id == int(member.id)).values(admin=True))


async def audit_rows(runtime: Runtime) -> list[AiAudit]:
    async with runtime.db.transaction(write=False) as session:
        return list(await session.scalars(select(AiAudit).order_by(AiAudit.id)))


async def completion(client: httpx.AsyncClient, who: Member, question: str, **fields: Any) -> httpx.Response:
    return await client.post("/v1/chat/completions", headers=who.headers, json={
        "model": "agora-assistant", "messages": [{"role": "user", "content": question}], **fields})


def sse_chunks(body: str) -> list[dict[str, Any]]:
    events = [line[len("data: "):] for line in body.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


# --- members' opt-out --------------------------------------------------------------------------------

async def test_an_opted_out_member_is_never_cited_or_quoted_by_answer_question(
        client: httpx.AsyncClient, runtime: Runtime, alice: Member, bob: Member) -> None:
    mine = await post(client, alice, OPENED)
    await embedded(runtime)
    before = await ask(runtime, bob, RAMEN)
    assert int(mine["id"]) in [c.status_id for c in before.citations] and QUEUE in before.text

    opted = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                               data={"ai_reading": "false"})
    assert opted.status_code == 200 and opted.json()["source"]["ai_reading"] is False
    shown = await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)
    assert shown.json()["source"]["ai_reading"] is False
    for asker in (bob, alice):  # not even to herself: the choice is "the assistant does not read my posts"
        after = await ask(runtime, asker, RAMEN)
        assert int(mine["id"]) not in [c.status_id for c in after.citations]
        assert QUEUE not in after.text and all(QUEUE not in c.excerpt for c in after.citations)

    back = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                              json={"source": {"ai_reading": True}})
    assert back.json()["source"]["ai_reading"] is True
    assert int(mine["id"]) in [c.status_id for c in (await ask(runtime, bob, RAMEN)).citations]
    bad = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                             json={"ai_reading": "perhaps"})
    assert bad.status_code == 422


async def test_a_reply_by_someone_opted_out_lends_no_context(client: httpx.AsyncClient, runtime: Runtime,
                                                             alice: Member, bob: Member, carol: Member) -> None:
    question = await post(client, alice, "Which bus goes to the Old Wharf from the station?")
    await post(client, carol, "@alice Number 7 from stand C, every ten minutes.", in_reply_to_id=question["id"])
    await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers, data={"ai_reading": "false"})
    await embedded(runtime)
    answer = await ask(runtime, bob, "Which bus goes to the Old Wharf?")
    assert int(question["id"]) not in [c.status_id for c in answer.citations]
    assert "Which bus goes to the Old Wharf from the station" not in answer.text


async def test_the_settings_page_opt_out_reaches_the_v1_api(client: httpx.AsyncClient, runtime: Runtime,
                                                           alice: Member, bob: Member) -> None:
    mine = await post(client, alice, OPENED)
    await embedded(runtime)
    cited = (await completion(client, bob, RAMEN)).json()["agora"]["citations"]
    assert int(mine["id"]) in [c["status_id"] for c in cited]

    await signed_in(client, alice)
    page = await client.get("/settings/preferences")
    assert "Let the assistant read and cite my posts" in page.text
    assert '<input type="checkbox" name="ai_reading" value="1" checked' in page.text
    saved = await form_post(client, "/settings/preferences", "/settings/preferences",
                            {"default_visibility": "public", "locale": "auto", "ai_training": "1"})
    assert saved.status_code == 303
    page = await client.get("/settings/preferences")
    assert '<input type="checkbox" name="ai_reading" value="1" aria-describedby' in page.text
    assert "never quotes or cites your posts" in page.text
    client.cookies.clear()

    answer = (await completion(client, bob, RAMEN)).json()
    assert int(mine["id"]) not in [c["status_id"] for c in answer["agora"]["citations"]]
    assert QUEUE not in answer["choices"][0]["message"]["content"]


# --- the audit log ---------------------------------------------------------------------------------

async def test_plain_and_streamed_assistant_answers_are_audited_and_labelled(
        client: httpx.AsyncClient, runtime: Runtime, alice: Member, bob: Member) -> None:
    mine = await post(client, alice, OPENED)
    await embedded(runtime)
    plain = (await completion(client, bob, RAMEN)).json()
    assert plain["agora"]["ai_generated"] is True
    streamed = await completion(client, bob, RAMEN + " Please.", stream=True)
    chunks = sse_chunks(streamed.text)
    final = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]][-1]
    assert final["agora"]["ai_generated"] is True and final["agora"]["citations"]
    streamed_text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])

    rows = await audit_rows(runtime)
    assert len(rows) == 2
    for row, question, output in ((rows[0], RAMEN, plain["choices"][0]["message"]["content"]),
                                  (rows[1], RAMEN + " Please.", streamed_text)):
        assert (row.asker_id, row.surface, row.question, row.output) == (int(bob.id), "api", question, output)
        assert row.sources["cited"] == [int(mine["id"])] and int(mine["id"]) in row.sources["retrieved"]
        assert (row.model, row.model_version, row.mode, row.refused) == (
            "agora-extractive", "all-MiniLM-L6-v2", "extractive", False)
        assert row.created_at is not None

    refused = (await completion(client, bob, "How do I make a pipe bomb at home?")).json()
    assert refused["agora"]["refused"] is True
    last = (await audit_rows(runtime))[-1]
    assert last.refused is True and last.sources == {"cited": [], "retrieved": []}


async def test_a_raw_stream_the_reader_left_is_audited_as_far_as_it_got(runtime: Runtime, alice: Member) -> None:
    """Starlette cancels a streaming response's task scope when the reader disconnects; the part of
    the answer they were sent must still reach the log, and the model's stream must be closed."""
    closed = asyncio.Event()

    async def model_writing() -> AsyncIterator[Delta]:
        try:
            yield Delta(text="The night")
            yield Delta(text=" market")
            await asyncio.Event().wait()  # still writing when the reader leaves
        finally:
            closed.set()

    async with runtime.db.transaction(write=False) as session:
        account = await session.get_one(Account, int(alice.id))
    grant = Grant(token_id=0, account=account, scopes=("read",), app_id=None, app_name=None)
    stream = recording(model_writing(), runtime, grant=grant, messages=[{"role": "user", "content": "How was it?"}],
                       model="run-1")
    sent: list[str] = []
    two_sent = asyncio.Event()

    async def respond() -> None:
        async for delta in stream:
            sent.append(delta.text)
            if len(sent) == 2:
                two_sent.set()

    async with anyio.create_task_group() as response:
        response.start_soon(respond)
        await two_sent.wait()
        response.cancel_scope.cancel()  # the reader disconnected

    assert closed.is_set()
    [row] = await audit_rows(runtime)
    assert (row.asker_id, row.surface, row.question, row.output, row.mode, row.model_version) == (
        int(alice.id), "api", "How was it?", "The night market", "raw", "run-1")


async def test_operators_browse_and_export_the_log_and_no_one_else_sees_it(
        client: httpx.AsyncClient, runtime: Runtime, alice: Member, bob: Member) -> None:
    mine = await post(client, alice, OPENED)
    await embedded(runtime)
    await completion(client, bob, RAMEN)
    row = (await audit_rows(runtime))[0]
    addresses = ["/admin/ai/audit", "/admin/ai/audit.jsonl", "/admin/ai/audit.csv", f"/admin/ai/audit/{row.id}",
                 "/admin/ai/audit?before=99999999999999999"]

    # A visitor, a member (signed in, and with their API token), and the API: nothing.
    for label, headers in (("visitor", {}), ("member's token", bob.headers)):
        for address in addresses:
            answer = await client.get(address, headers=headers)
            assert answer.status_code == 404, (label, address)
            assert RAMEN not in answer.text and "Mill Lane" not in answer.text
    await signed_in(client, bob)
    for address in addresses:
        answer = await client.get(address)
        assert answer.status_code == 404 and "Mill Lane" not in answer.text, address
    for address in ("/v1/audit", "/api/v1/admin/ai/audit", "/api/v1/ai/audit"):
        answer = await client.get(address, headers=bob.headers)
        assert answer.status_code == 404 and "Mill Lane" not in answer.text, address

    await make_admin(runtime, alice)
    await signed_in(client, alice)
    page = await client.get("/admin/ai/audit")
    assert page.status_code == 200
    assert "The assistant is on." in page.text and "extractive only" in page.text
    assert "@bob" in page.text and RAMEN in page.text and "agora-extractive" in page.text
    assert f'href="/admin/ai/audit/{row.id}"' in page.text
    detail = await client.get(f"/admin/ai/audit/{row.id}")
    assert detail.status_code == 200 and row.output in detail.text.replace("&#39;", "'")
    assert f'href="/@alice/{mine["id"]}"' in detail.text and "AI-generated" in detail.text
    assert (await client.get("/admin/ai/audit/123")).status_code == 404
    assert (await client.get("/admin/ai/audit/not-an-id")).status_code == 404
    assert (await client.get("/admin/ai/audit?before=nonsense")).status_code == 422

    exported = await client.get("/admin/ai/audit.jsonl")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert len(lines) == 1 and lines[0]["question"] == RAMEN and lines[0]["asker"] == "bob"
    assert lines[0]["cited"] == [mine["id"]] and lines[0]["output"] == row.output
    table = list(csv.DictReader(io.StringIO((await client.get("/admin/ai/audit.csv")).text)))
    assert len(table) == 1 and table[0]["question"] == RAMEN and table[0]["surface"] == "api"
    assert (await client.get("/admin/ai/audit.jsonl?since=2999-01-01")).text == ""
    assert (await client.get("/admin/ai/audit.jsonl?since=yesterday")).status_code == 422


async def test_the_log_pages_newest_first(client: httpx.AsyncClient, runtime: Runtime, alice: Member) -> None:
    async with runtime.db.transaction() as session:
        for n in range(55):
            await audit.record_answer(session, asker_id=int(alice.id), surface="web", question=f"question number {n}?",
                                      answer=Answer(text=f"answer {n}"))
    await make_admin(runtime, alice)
    await signed_in(client, alice)
    first = await client.get("/admin/ai/audit")
    assert "question number 54?" in first.text and "question number 5?" in first.text
    assert "question number 4?" not in first.text
    assert first.text.index("question number 54?") < first.text.index("question number 53?")
    older = first.text.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = await client.get(older)
    assert "question number 4?" in second.text and "question number 0?" in second.text
    assert "question number 5?" not in second.text and 'rel="next"' not in second.text
    with pytest.raises(ValueError):
        async with runtime.db.transaction() as session:
            await audit.record_answer(session, asker_id=None, surface="email", question="?", answer=Answer(text=""))


# --- the kill switch and the CLI -----------------------------------------------------------------------

async def test_the_kill_switch_shows_where_members_and_operators_look(settings: Settings) -> None:
    for enabled in (True, False):
        async with app_client(settings.model_copy(update={"ai_enabled": enabled})) as (http, runtime):
            operator = await make_member(runtime, f"op{int(enabled)}")
            await make_admin(runtime, operator)
            model_page = (await http.get("/ai/model")).text
            generation = await completion(http, operator, RAMEN)
            await signed_in(http, operator)
            audit_page = (await http.get("/admin/ai/audit")).text
            if enabled:
                assert "The assistant is on." in model_page and "The assistant is on." in audit_page
                assert generation.status_code == 200
            else:
                assert "The assistant is switched off on this server." in model_page
                assert "The assistant is switched off" in audit_page and "The assistant is on." not in audit_page
                assert generation.status_code == 503 and generation.json()["error"]["code"] == "ai_disabled"


def cli(settings: Settings, *args: str, **env: str):
    from typer.testing import CliRunner

    from agora.cli import app

    return CliRunner().invoke(app, ["ai", *args], env={
        "AGORA_DATABASE_URL": settings.resolved_database_url, "AGORA_DATA_DIR": str(settings.data_dir),
        "COLUMNS": "200", **env})


async def test_the_cli_exports_the_log_and_says_the_assistants_state(runtime: Runtime, settings: Settings,
                                                                     alice: Member) -> None:
    async with runtime.db.transaction() as session:
        await audit.record_answer(session, asker_id=int(alice.id), surface="chat", question="=HYPERLINK(\"x\")",
                                  answer=Answer(text="An answer, with a comma [1]."))
        await audit.record_answer(session, asker_id=None, surface="api", question="hello?",
                                  answer=audit.raw_answer("hi there", model="run-1"), model_version="run-1")

    exported = await asyncio.to_thread(cli, settings, "audit")
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [r["question"] for r in rows] == ["=HYPERLINK(\"x\")", "hello?"]  # oldest first
    assert rows[0]["asker"] == "alice" and rows[1]["asker"] is None and rows[1]["mode"] == "raw"
    assert rows[1]["model_version"] == "run-1" and rows[1]["cited"] == []

    table = await asyncio.to_thread(cli, settings, "audit", "--format", "csv", "--since", "2000-01-01")
    parsed = list(csv.DictReader(io.StringIO(table.stdout)))
    assert [r["output"] for r in parsed] == ["An answer, with a comma [1].", "hi there"]
    assert parsed[0]["question"] == "'=HYPERLINK(\"x\")"  # a spreadsheet does not run it as a formula
    later = await asyncio.to_thread(cli, settings, "audit", "--since", "2999-01-01")
    assert later.exit_code == 0 and later.stdout == ""
    assert (await asyncio.to_thread(cli, settings, "audit", "--format", "xml")).exit_code == 2
    assert (await asyncio.to_thread(cli, settings, "audit", "--since", "soon")).exit_code == 2

    status = await asyncio.to_thread(cli, settings, "status")
    assert status.exit_code == 0, status.output
    assert "assistant: enabled" in status.stdout and "engine: extractive only" in status.stdout
    assert "promoted model: none" in status.stdout and "audit rows: 2" in status.stdout
    off = await asyncio.to_thread(cli, settings, "status", AGORA_AI_ENABLED="false",
                                  AGORA_AI_URL="http://vllm.internal:8000/v1")
    assert "assistant: DISABLED" in off.stdout and "engine: upstream http://vllm.internal:8000/v1" in off.stdout


# --- a raw model's completions: audited and labelled too -----------------------------------------------

def test_raw_model_completions_are_audited_and_labelled(live_server: LiveServer,
                                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    run_id = install_and_promote(tmp_path_factory.getbasetemp(), live_server.settings)
    member = live_member(live_server, "dana")
    ai = openai.OpenAI(base_url=live_server.url + "/v1", api_key=member.token, max_retries=0, timeout=60)
    messages = [{"role": "user", "content": "How was the night market?"}]
    plain = ai.chat.completions.create(model=run_id, messages=messages, temperature=0, max_tokens=12)
    assert plain.model_extra["agora"]["ai_generated"] is True
    chunks = list(ai.chat.completions.create(model=run_id, messages=messages, temperature=0, max_tokens=12,
                                             stream=True))
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason][-1]
    assert final.model_extra["agora"]["ai_generated"] is True
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    async def rows() -> list[AiAudit]:
        db = Database(live_server.settings.resolved_database_url)
        try:
            async with db.transaction(write=False) as session:
                return list(await session.scalars(select(AiAudit).order_by(AiAudit.id)))
        finally:
            await db.dispose()

    audited = asyncio.run(rows())
    assert [(r.asker_id, r.surface, r.question, r.mode, r.model, r.sources) for r in audited] == [
        (int(member.id), "api", "How was the night market?", "raw", run_id, {"cited": [], "retrieved": []})] * 2
    assert [r.output for r in audited] == [plain.choices[0].message.content, streamed]


def test_the_csv_export_names_every_field() -> None:
    assert audit.csv_header() == ("id,created_at,asker_id,asker,surface,question,cited,retrieved,model,model_version,"
                                  "mode,refused,output\n")
