"""Every knob Agora has, read from `AGORA_*` environment variables (12-factor)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Registrations(StrEnum):
    open = "open"
    approval = "approval"
    closed = "closed"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGORA_", env_file=None, extra="ignore")

    data_dir: Path = Field(Path("var"), description="Where the SQLite file, media and run state live.")
    database_url: str | None = Field(None, description="SQLAlchemy async URL; default: SQLite in data_dir.")
    redis_url: str | None = Field(None, description="Redis for pub/sub and rate limits; in-process if unset.")
    base_url: str = Field("http://127.0.0.1:8000", description="Public URL of this server, no trailing slash.")
    instance_title: str = "Agora"
    instance_description: str = "An open, self-hostable everything app: posts, chat, payments and an AI."
    contact_email: str = "admin@agora.local"
    registrations: Registrations = Registrations.open
    log_level: str = "info"
    log_json: bool = True

    # Limits on what members may send us. Mastodon's defaults where Mastodon has one.
    max_status_chars: int = 500
    max_media_attachments: int = 4
    max_image_bytes: int = 16 * 1024 * 1024
    max_image_pixels: int = 8192 * 8192
    preview_max_side: int = 640
    max_bio_chars: int = 500
    max_display_name_chars: int = 30
    # A post from the web app's compose box: up to four full-size images and the form's fields.
    max_request_bytes: int = 4 * 16 * 1024 * 1024 + 1024 * 1024
    max_page_limit: int = 40
    # Chat: X allows 10,000 characters in a DM; WeChat caps groups at 500 members.
    max_chat_message_chars: int = 10_000
    max_group_members: int = 500
    max_group_name_chars: int = 100
    max_group_description_chars: int = 1000
    default_page_limit: int = 20

    # Rate limits: requests per window (seconds), as in Mastodon's defaults.
    rate_limit_enabled: bool = True
    rate_limit_requests: int = 300
    rate_limit_window: int = 300
    rate_limit_ip_requests: int = 1500  # per address, whatever token: several members may share one
    rate_limit_sign_in: int = 25
    rate_limit_sign_in_window: int = 300
    rate_limit_sign_up: int = 5
    rate_limit_sign_up_window: int = 1800
    rate_limit_statuses: int = 300
    rate_limit_statuses_window: int = 10800
    rate_limit_media: int = 30
    rate_limit_chat: int = 120  # messages, reactions and other chat writes per member per minute
    rate_limit_chat_window: int = 60
    rate_limit_media_window: int = 1800
    # POST /v1/chat/completions and /v1/embeddings per member: each answer may take seconds of model
    # time, so one member must not fill the engine's queue for everyone else.
    rate_limit_ai: int = 30
    rate_limit_ai_window: int = 60

    # Wallet. Amounts are in minor units of the currency being moved (cents for USD).
    currencies: list[str] = ["USD", "EUR", "CNY", "GBP", "JPY"]
    default_currency: str = "USD"
    funding_provider: str = Field("sandbox", description="Top-ups and withdrawals: `sandbox` (test money).")
    payments_max_transfer: int = 1_000_000  # one payment: 10,000.00
    payments_daily_limit: int = 2_000_000  # everything a member pays out in 24 hours: 20,000.00
    payments_max_top_up: int = 1_000_000
    payments_pin_threshold: int = 20_000  # payments above 200.00 need the payment PIN
    payments_pin_attempts: int = 5  # wrong PINs in a row before the PIN locks
    payments_pin_lockout_minutes: int = 15
    chat_transfer_ttl_hours: float = 24.0  # unaccepted chat transfers return to the sender after this
    red_packet_ttl_hours: float = 24.0  # what nobody opened returns after this
    red_packet_max_count: int = 200
    hold_ttl_hours: float = 7 * 24.0  # as a card authorisation: a hold nobody captures expires
    hold_max_ttl_hours: float = 30 * 24.0
    payments_sweep_seconds: float = 30.0  # how often expired transfers, packets and holds are returned

    # Semantic search: the background embedder (all-MiniLM-L6-v2 on the CPU, ~50 posts/s on 2 cores).
    embedder_enabled: bool = True  # off: no vectors are made, semantic search finds only what exists
    embedder_batch_size: int = 32
    embedder_interval_seconds: float = 1.0  # poll between wake-ups (posts made by other processes)
    embedder_sweep_seconds: float = 60.0  # how often every post is checked (old posts edited elsewhere)
    rate_limit_payments: int = 120  # money-moving requests per member per window
    rate_limit_payments_window: int = 60

    # Trends (agora/search/trends.py): Mastodon's Trends::Tags / Trends::Statuses, made stateless.
    # Thresholds are lower than Mastodon's 5: a single server has no fediverse feeding its trends.
    trends_cache_seconds: float = 60.0  # each process recomputes at most this often; 0 disables
    trends_tag_min_accounts: int = 3  # distinct accounts today before a tag can trend
    trends_tag_baseline_days: int = 7  # "expected" is the average of this many previous days
    trends_tag_halflife_hours: float = 4.0  # a tag's score halves this long after its peak
    trends_status_window_hours: float = 72.0  # trending posts come from this recent a window
    trends_status_halflife_hours: float = 6.0  # each favourite, boost or reply counts half after this
    trends_status_min_engagements: int = 3  # favourites + boosts + replies by others, in the window
    trends_status_per_author: int = 2  # at most this many trending posts by one member

    # "For you" (agora/search/for_you*.py): X's published heavy-ranker weights, on what Agora can estimate.
    for_you_weight_favourite: float = 0.5
    for_you_weight_reblog: float = 1.0
    for_you_weight_reply: float = 13.5
    for_you_weight_good_click: float = 11.0  # estimated from bookmarks
    for_you_weight_reply_engaged_by_author: float = 75.0
    for_you_weight_negative: float = -74.0  # estimated from the mutes and blocks an author receives
    for_you_halflife_hours: float = 12.0  # a post's score halves every this many hours of age
    for_you_in_network_boost: float = 1.5  # posts by accounts the member follows
    for_you_author_decay: float = 0.5  # each further post by one author: (1-floor)*decay^n + floor
    for_you_author_floor: float = 0.25
    for_you_window_days: float = 3.0  # candidates from followed accounts and their likes: this recent
    for_you_snapshot_seconds: float = 600.0  # a ranking is kept this long per member for paging

    # The community language model (agora/ai/). Members choose in their settings whether the model may
    # learn from their public posts; this is the answer for every member who never chose. Operators who
    # want consent first (opt-in) set it to false.
    ai_training_default: bool = True

    # The assistant: where its text comes from and how much of it one server makes at once.
    # AGORA_AI_URL points at any OpenAI-compatible server (vLLM: http://host:8000/v1); unset, the
    # promoted run is served in-process. AGORA_AI_ENABLED=false is the operator's kill switch: every
    # generation under /v1 then answers 503.
    ai_url: str | None = None
    ai_key: str | None = None
    ai_model: str | None = None  # the upstream model id; default: the first one its /models lists
    ai_enabled: bool = True
    ai_max_concurrent: int = Field(1, ge=1)  # in-process generations at once (each uses every core)
    ai_max_queue: int = Field(8, ge=0)  # waiting beyond those; more answer 429 at once
    ai_max_tokens: int = Field(512, ge=1)  # the most a completion may ask for (and the default)
    ai_max_input_chars: int = Field(32_000, ge=1)  # every message's text together, and each embedding batch
    ai_upstream_timeout_seconds: float = 120.0
    # Whether answers are written by the model (checked against their sources) rather than quoted
    # from posts (agora/ai/assistant/). Off by default: the tiny community model is not a writer.
    assistant_generative: bool = False
    # The @assistant member (agora/ai/member/): its username, and how often its worker looks for
    # mentions and chat messages to answer (0: no worker in this process; `agora ai assistant-run-once`).
    assistant_username: str = "assistant"
    assistant_poll_seconds: float = Field(2.0, ge=0)

    access_token_ttl_days: int = 0  # 0: tokens do not expire, as in Mastodon
    streaming_heartbeat_seconds: float = 15.0
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'agora.db').resolve()}"

    @property
    def access_token_ttl(self) -> timedelta | None:
        return timedelta(days=self.access_token_ttl_days) if self.access_token_ttl_days > 0 else None

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def domain(self) -> str:
        return self.base_url.split("://", 1)[-1].split("/", 1)[0]

    @property
    def streaming_url(self) -> str:
        return self.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
