"""All SQLAlchemy models, one module per aggregate. Importing this registers every table."""

from agora.models.accounts import Account
from agora.models.ai import AiAudit, AssistantReply
from agora.models.base import Base
from agora.models.chat import (
    ChatEvent,
    ChatMessage,
    ChatMessageEdit,
    ChatReaction,
    ChatSequence,
    Conversation,
    ConversationMember,
)
from agora.models.graph import Block, Follow, FollowRequest, Mute
from agora.models.ledger import (
    Hold,
    JournalEntry,
    LedgerAccount,
    PaymentPin,
    PaymentRequest,
    Posting,
    RedPacket,
    RedPacketClaim,
    Transfer,
)
from agora.models.media import MediaAttachment
from agora.models.notifications import IdempotencyRecord, Marker, Notification
from agora.models.oauth import OAuthApp, OAuthCode, OAuthToken
from agora.models.statuses import (
    Bookmark,
    Favourite,
    Mention,
    Status,
    StatusEdit,
    StatusPin,
    StatusTag,
    Tag,
)
from agora.models.vectors import StatusVector

__all__ = [
    "Account",
    "AiAudit",
    "AssistantReply",
    "Base",
    "Block",
    "Bookmark",
    "ChatEvent",
    "ChatMessage",
    "ChatMessageEdit",
    "ChatReaction",
    "ChatSequence",
    "Conversation",
    "ConversationMember",
    "Favourite",
    "Follow",
    "FollowRequest",
    "Hold",
    "IdempotencyRecord",
    "JournalEntry",
    "LedgerAccount",
    "Marker",
    "MediaAttachment",
    "Mention",
    "Mute",
    "Notification",
    "OAuthApp",
    "OAuthCode",
    "OAuthToken",
    "PaymentPin",
    "PaymentRequest",
    "Posting",
    "RedPacket",
    "RedPacketClaim",
    "Status",
    "StatusEdit",
    "StatusPin",
    "StatusTag",
    "StatusVector",
    "Tag",
    "Transfer",
]
