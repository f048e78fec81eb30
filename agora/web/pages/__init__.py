"""The web app's routes, one module per part of the product."""

from agora.web.pages import auth, compose, live, places, timelines

ROUTERS = [places.router, auth.router, live.router, compose.router, timelines.router]
