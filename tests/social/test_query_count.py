"""A home timeline page costs the same number of queries whether it shows 5 posts or 40."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import event

from tests.factories import make_member, post


class QueryCounter:
    def __init__(self, engine) -> None:
        self.engine = engine.sync_engine
        self.count = 0

    def _count(self, *args, **kwargs) -> None:
        self.count += 1

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


async def test_home_timeline_queries_do_not_grow_with_the_page(client, runtime) -> None:
    reader = await make_member(runtime, "reader")
    writers = [await make_member(runtime, f"writer{i}") for i in range(4)]
    for writer in writers:
        await client.post(f"/api/v1/accounts/{writer.id}/follow", headers=reader.headers)
    image = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(image, "PNG")
    for i in range(40):  # every feature a rendered status has: media, mentions, tags, quotes, boosts
        writer = writers[i % 4]
        if i % 5 == 0:
            upload = await client.post("/api/v2/media", headers=writer.headers,
                                       files={"file": ("a.png", image.getvalue(), "image/png")})
            await post(client, writer, f"pic {i} #photo", media_ids=[upload.json()["id"]])
        elif i % 5 == 1:
            target = await post(client, writers[0], f"boost me {i}")
            await client.post(f"/api/v1/statuses/{target['id']}/reblog", headers=writer.headers)
        elif i % 5 == 2:
            target = await post(client, writers[1], f"quote me {i}")
            await post(client, writer, f"quoting {i} @reader", quoted_status_id=target["id"])
        else:
            mine = await post(client, writer, f"hello @writer{(i + 1) % 4} #tag{i % 3}")
            await client.post(f"/api/v1/statuses/{mine['id']}/favourite", headers=reader.headers)

    async def queries_for(limit: int) -> int:
        with QueryCounter(runtime.db.engine) as counter:
            response = await client.get("/api/v1/timelines/home", headers=reader.headers, params={"limit": limit})
        assert response.status_code == 200
        assert len(response.json()) == limit
        return counter.count

    small, large = await queries_for(5), await queries_for(40)
    assert small == large, f"5 posts took {small} queries, 40 took {large}"
    assert large <= 30  # and the fixed number stays small
