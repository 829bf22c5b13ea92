"""A small in-memory items resource: the shape of a real CRUD API without a database.

Each task keeps its own store, so with more than one task a client may not read back what it
wrote; a real service would put this behind DynamoDB or RDS.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field
from service_kit.auth import WRITE_METHODS, sign_in

MAX_ITEMS = 1000

# Reads are open; writes under /api need a signed-in caller.
router = APIRouter(prefix="/api/items", tags=["items"], dependencies=[sign_in(WRITE_METHODS)])


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"\S")
    description: str = Field(default="", max_length=1000)


class Item(ItemIn):
    id: int
    created_at: datetime


class ItemStore:
    """Handlers run on the event loop one at a time, so plain dict updates need no lock."""

    def __init__(self, capacity: int = MAX_ITEMS) -> None:
        self._items: dict[int, Item] = {}
        self._ids = itertools.count(1)
        self.capacity = capacity

    def add(self, new: ItemIn) -> Item | None:
        if len(self._items) >= self.capacity:
            return None
        item = Item(id=next(self._ids), created_at=datetime.now(UTC), **new.model_dump())
        self._items[item.id] = item
        return item

    def get(self, item_id: int) -> Item | None:
        return self._items.get(item_id)

    def remove(self, item_id: int) -> bool:
        return self._items.pop(item_id, None) is not None

    def page(self, offset: int, limit: int) -> list[Item]:
        return list(self._items.values())[offset : offset + limit]


def _store(request: Request) -> ItemStore:
    return request.app.state.items


@router.get("", response_model=list[Item])
async def list_items(
    request: Request, offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=200)
) -> list[Item]:
    return _store(request).page(offset, limit)


@router.post("", response_model=Item, status_code=status.HTTP_201_CREATED)
async def create_item(request: Request, new: ItemIn, response: Response) -> Item:
    item = _store(request).add(new)
    if item is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"the store is full ({MAX_ITEMS} items)")
    response.headers["Location"] = f"/api/items/{item.id}"
    return item


@router.get("/{item_id}", response_model=Item)
async def get_item(request: Request, item_id: int) -> Item:
    item = _store(request).get(item_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"item {item_id} not found")
    return item


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_item(request: Request, item_id: int) -> Response:
    if not _store(request).remove(item_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"item {item_id} not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
