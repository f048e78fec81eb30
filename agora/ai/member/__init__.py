"""The assistant as a member (issue 8): the @assistant account, answering mentions in threads and
messages in chats, "summarise what I missed", and payment drafts it never sends (docs/assistant.md,
"The assistant as a member").

account.py  the account (`ensure_assistant_account`)
worker.py   the background worker and `run_once` (the CLI's `agora ai assistant-run-once`)
mentions.py / chats.py  one answer each, exactly once (claims.py, models.py)
intents.py  what the writer asks for; drafts.py payment drafts; summary.py digests of missed messages
answering.py answers narrowed to the reply's audience; replies.py the reply's text, sources kept
"""

from .account import assistant_account, ensure_assistant_account
from .worker import AssistantWorker, run_once, start_assistant

__all__ = ["AssistantWorker", "assistant_account", "ensure_assistant_account", "run_once", "start_assistant"]
