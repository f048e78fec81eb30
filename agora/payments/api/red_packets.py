"""Routes: `/api/v1/red_packets` (being written)."""

from __future__ import annotations

from fastapi import APIRouter

from agora.payments.api.common import STRIPE_SHAPED

router = APIRouter(tags=["payments"], dependencies=STRIPE_SHAPED)
