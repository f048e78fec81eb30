"""The web app's routes, one module per part of the product."""

from agora.web.pages import (
    ai_admin,
    ai_model,
    assistant,
    auth,
    chat,
    chat_actions,
    compose,
    live,
    notifications,
    places,
    profiles,
    search,
    settings,
    thread,
    timelines,
    wallet,
    wallet_chat,
    wallet_requests,
)

# Order matters where paths overlap: every fixed path (/@name/followers, /@name/media …) comes
# before the thread's /@name/{status_id}.
ROUTERS = [places.router, auth.router, live.router, compose.router, timelines.router, search.router,
           ai_model.router, ai_admin.router, assistant.router, notifications.router, chat.router, chat_actions.router,
           wallet.router, wallet_requests.router, wallet_chat.router, settings.router, profiles.router, thread.router]
