"""Settings in the browser: profile, password, preferences, and the interface language.

Every form works without JavaScript: success is a 303 back to the page with `?saved=1` (which shows
a confirmation), refusal is the page again with a message beside each field, status 422.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from agora.accounts import service
from agora.accounts.auth import rate_limited
from agora.accounts.secrets import Passwords
from agora.kit.errors import AgoraError, Forbidden, PayloadTooLarge
from agora.kit.runtime import runtime_of
from agora.media.service import prepare_profile_image, store_profile_images
from agora.web import forms, i18n
from agora.web.forms import FieldErrors
from agora.web.i18n import gettext as _
from agora.web.i18n import refusal
from agora.web.render import back, chosen_locale, page, prepare
from agora.web.session import Viewer, current_viewer, require_viewer, verify_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare), Depends(verify_csrf)])
IMAGES = ("avatar", "header")


async def _settings_page(request: Request, template: str, context: dict[str, Any], *,
                         status: int = 200) -> Response:
    saved = request.method == "GET" and request.query_params.get("saved") == "1"
    return await page(request, template, {"saved": saved, "errors": {}, **context}, status=status)


@router.get("/settings")
async def index(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    return await _settings_page(request, "settings.html", {"section": "index"})


# --- profile -----------------------------------------------------------------------------------

def _profile_form(viewer: Viewer) -> dict[str, Any]:
    account = viewer.account
    return {"display_name": account.display_name, "note": account.note, "locked": account.locked,
            "discoverable": account.discoverable}


@router.get("/settings/profile")
async def profile_page(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    return await _settings_page(request, "settings_profile.html", {"section": "profile",
                                                                    "form": _profile_form(viewer)})


def _check_profile(form: dict[str, Any], settings: Any) -> FieldErrors:
    errors: FieldErrors = {}
    if len(form["display_name"]) > settings.max_display_name_chars:
        errors["display_name"] = _("Your display name can be at most %(max)d characters; this one has %(n)d.") % {
            "max": settings.max_display_name_chars, "n": len(form["display_name"])}
    if len(form["note"]) > settings.max_bio_chars:
        errors["note"] = _("Your bio can be at most %(max)d characters; this one has %(n)d.") % {
            "max": settings.max_bio_chars, "n": len(form["note"])}
    return errors


async def _prepare_images(raw: FormData, settings: Any, errors: FieldErrors) -> dict[str, bytes]:
    """Chosen avatar/header files, checked and cropped before the transaction (Pillow takes a while)."""
    images: dict[str, bytes] = {}
    for kind in IMAGES:
        chosen = forms.files(raw, kind)
        if not chosen:
            continue
        data = await chosen[0].read(settings.max_image_bytes + 1)
        try:
            images[kind] = await prepare_profile_image(data=data, kind=kind, settings=settings)
        except PayloadTooLarge:
            errors[kind] = _("This image is too large: at most %(mb)d MB.") % {
                "mb": settings.max_image_bytes // (1024 * 1024)}
        except AgoraError:
            errors[kind] = _("This file could not be read as an image. Choose a PNG, JPEG, GIF or WebP file.")
    return images


@router.post("/settings/profile")
async def save_profile(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    raw = await request.form()
    runtime = runtime_of(request)
    settings = runtime.settings
    form = {"display_name": forms.text(raw, "display_name", limit=1000).strip(),
            "note": forms.text(raw, "note", limit=10_000), "locked": forms.flag(raw, "locked"),
            "discoverable": forms.flag(raw, "discoverable")}
    errors = _check_profile(form, settings)
    images = await _prepare_images(raw, settings, errors)
    if not errors:
        changes = service.ProfileChanges(display_name=form["display_name"], note=form["note"],
                                         locked=form["locked"], discoverable=form["discoverable"])
        try:
            async with runtime.db.transaction() as session:
                stored = await store_profile_images(session, images=images, settings=settings)
                account = await service.get_account(session, account_id=viewer.id)
                await service.update_profile(session, account=account, changes=dataclasses.replace(changes, **stored),
                                             settings=settings)
        except AgoraError as refused:  # a limit we did not check above; the files were removed on rollback
            errors["form"] = refusal(refused.message)
    if errors:
        for kind in IMAGES:
            if kind not in errors and kind in images:  # a browser cannot refill a file input
                errors[kind] = _("Please choose this image again.")
        return await _settings_page(request, "settings_profile.html", {
            "section": "profile", "form": form, "errors": errors}, status=422)
    return RedirectResponse("/settings/profile?saved=1", status_code=303)


# --- password ----------------------------------------------------------------------------------

@router.get("/settings/password")
async def password_page(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    return await _settings_page(request, "settings_password.html", {"section": "password"})


# Shares the sign-in budget: this form also tells whether a guessed password is right.
@router.post("/settings/password", dependencies=[Depends(rate_limited("sign_in"))])
async def change_password(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    raw = await request.form()
    runtime = runtime_of(request)
    current = forms.text(raw, "current_password", limit=service.MAX_PASSWORD + 1)
    new = forms.text(raw, "new_password", limit=service.MAX_PASSWORD + 1)
    errors: FieldErrors = {}
    if not current:
        errors["current_password"] = _("Enter your current password.")
    if not service.MIN_PASSWORD <= len(new) <= service.MAX_PASSWORD:
        errors["new_password"] = _("Use %(min)d to %(max)d characters.") % {
            "min": service.MIN_PASSWORD, "max": service.MAX_PASSWORD}
    elif new != forms.text(raw, "confirm_password", limit=service.MAX_PASSWORD + 1):
        errors["confirm_password"] = _("The two new passwords do not match.")
    if not errors:
        try:
            async with runtime.db.transaction() as session:
                account = await service.get_account(session, account_id=viewer.id)
                await service.change_password(session, account=account, current=current, new=new,
                                              passwords=Passwords.for_settings(runtime.settings))
        except Forbidden:
            errors["current_password"] = _("This is not your current password.")
    if errors:  # passwords are never sent back into the page
        return await _settings_page(request, "settings_password.html", {"section": "password", "errors": errors},
                                    status=422)
    # Other browsers and apps stay signed in: their sessions are tokens, which a new password does not
    # revoke. (Signing them out belongs to a "sessions" page that lists and revokes tokens.)
    return RedirectResponse("/settings/password?saved=1", status_code=303)


# --- preferences and language ------------------------------------------------------------------

async def _save_account_prefs(request: Request, viewer: Viewer, choice: str,
                             default_visibility: str | None = None, ai_training: bool | None = None,
                             ai_reading: bool | None = None) -> None:
    runtime = runtime_of(request)
    # "auto" stores the neutral default ("en"): the account cannot tell it from a choice of English.
    changes = service.ProfileChanges(default_visibility=default_visibility, locale=i18n.account_locale(choice),
                                     ai_training=ai_training, ai_reading=ai_reading)
    async with runtime.db.transaction() as session:
        account = await service.get_account(session, account_id=viewer.id)
        await service.update_profile(session, account=account, settings=runtime.settings, changes=changes)


@router.get("/settings/preferences")
async def preferences_page(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    form = {"default_visibility": viewer.account.default_visibility,
            "locale": chosen_locale(request, viewer) or i18n.AUTO,
            "ai_training": service.ai_training_effective(viewer.account, runtime_of(request).settings),
            "ai_reading": viewer.account.ai_reading}
    return await _settings_page(request, "settings_preferences.html", {"section": "preferences", "form": form})


@router.post("/settings/preferences")
async def save_preferences(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    raw = await request.form()
    form = {"default_visibility": forms.text(raw, "default_visibility", limit=20),
            "locale": forms.text(raw, "locale", limit=20), "ai_training": forms.flag(raw, "ai_training"),
            "ai_reading": forms.flag(raw, "ai_reading")}
    errors: FieldErrors = {}
    if form["default_visibility"] not in service.DEFAULT_VISIBILITIES:
        errors["default_visibility"] = _("Choose who can see your posts by default.")
    if form["locale"] != i18n.AUTO and form["locale"] not in i18n.LOCALES:
        errors["locale"] = _("Choose a language from the list.")
    if errors:
        return await _settings_page(request, "settings_preferences.html", {
            "section": "preferences", "form": form, "errors": errors}, status=422)
    await _save_account_prefs(request, viewer, form["locale"], default_visibility=form["default_visibility"],
                              ai_training=_ai_training_choice(request, viewer, form["ai_training"]),
                              ai_reading=form["ai_reading"])
    response = RedirectResponse("/settings/preferences?saved=1", status_code=303)
    i18n.remember(response, form["locale"], secure=request.url.scheme == "https")
    return response


def _ai_training_choice(request: Request, viewer: Viewer, checked: bool) -> bool | None:
    """What to store for the model-training box: None (keep following the operator's default) while a
    member who never chose saves the page with the box as it was shown, so that saving one's default
    visibility is not taken as an answer; their tick or untick otherwise."""
    account = viewer.account
    if account.ai_training is None and checked == service.ai_training_effective(account, runtime_of(request).settings):
        return None
    return checked


@router.post("/settings/language")
async def language(request: Request) -> Response:
    """The small menu on every page, signed in or out: a cookie, and the account too when signed in."""
    choice = forms.text(await request.form(), "locale", limit=20)
    if choice != i18n.AUTO and choice not in i18n.LOCALES:
        # Someone's hand-made form (the menu offers only valid ones): say so, change nothing.
        return await page(request, "error.html", {
            "status": 422, "message": _("This language is not available. Choose one from the list.")}, status=422)
    viewer = await current_viewer(request)
    if viewer is not None:
        await _save_account_prefs(request, viewer, choice)
    response = back(request, "/home" if viewer is not None else "/")
    i18n.remember(response, choice, secure=request.url.scheme == "https")
    return response
