"""Sign up, sign in and sign out in the browser (the session cookie is set and cleared here)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from agora.accounts import service
from agora.accounts.auth import rate_limited
from agora.accounts.secrets import Passwords
from agora.config import Registrations
from agora.kit.errors import AgoraError
from agora.kit.runtime import runtime_of
from agora.web import forms, i18n
from agora.web.forms import FieldErrors
from agora.web.i18n import gettext as _
from agora.web.i18n import refusal
from agora.web.render import page, prepare
from agora.web.session import current_viewer, end_session, local_path, start_session, verify_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare), Depends(verify_csrf)])


def safe_next(raw: str | None) -> str:
    """Only a path on this site: `next=https://evil.example` must not turn sign-in into a redirector."""
    return local_path(raw) or "/home"


async def _auth_page(request: Request, mode: str, *, form: dict | None = None, errors: FieldErrors | None = None,
                     notice: str | None = None, status: int = 200) -> Response:
    title = _("Sign in") if mode == "sign_in" else _("Create your account")
    return await page(request, "auth.html", {
        "mode": mode, "title": title, "form": form or {}, "errors": errors or {}, "notice": notice,
        "next": safe_next(request.query_params.get("next")) if request.method == "GET"
        else (form or {}).get("next"),
    }, status=status)


@router.get("/auth/sign_in")
async def sign_in_page(request: Request) -> Response:
    if await current_viewer(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return await _auth_page(request, "sign_in")


@router.post("/auth/sign_in", dependencies=[Depends(rate_limited("sign_in"))])
async def sign_in(request: Request) -> Response:
    form = await request.form()
    login, password = forms.text(form, "login", limit=254).strip(), forms.text(form, "password", limit=1024)
    kept = {"login": login, "next": safe_next(forms.text(form, "next", limit=2000))}
    errors: FieldErrors = {}
    if not login:
        errors["login"] = _("Enter your e-mail or username.")
    if not password:
        errors["password"] = _("Enter your password.")
    if errors:
        return await _auth_page(request, "sign_in", form=kept, errors=errors, status=422)
    runtime = runtime_of(request)
    response = RedirectResponse(kept["next"], status_code=303)
    async with runtime.db.transaction() as session:
        account = await service.authenticate(session, login=login, password=password,
                                             passwords=Passwords.for_settings(runtime.settings))
        if account is None or account.suspended:
            return await _auth_page(request, "sign_in", form=kept, status=401,
                                    errors={"form": _("Wrong e-mail, username or password.")})
        if not account.approved:
            return await _auth_page(request, "sign_in", form=kept, status=403,
                                    errors={"form": _("Your account is waiting for approval by a moderator.")})
        await start_session(session, account=account, response=response, request=request)
        chosen = i18n.from_tag(account.locale)
        if chosen and chosen != i18n.DEFAULT:  # the language this member chose follows them to a new browser
            i18n.remember(response, chosen, secure=request.url.scheme == "https")
    return response


@router.get("/auth/sign_up")
async def sign_up_page(request: Request) -> Response:
    if await current_viewer(request) is not None:
        return RedirectResponse("/home", status_code=303)
    closed = runtime_of(request).settings.registrations is Registrations.closed
    return await _auth_page(request, "sign_up",
                            notice=_("This server is not accepting new accounts.") if closed else None)


def _check_sign_up(form: dict, approval: bool) -> FieldErrors:
    errors: FieldErrors = {}
    if not service.USERNAME_RE.match(form["username"]):
        errors["username"] = _("Use 1–30 letters, digits or underscores.")
    elif form["username"].lower() in service.RESERVED_USERNAMES:
        errors["username"] = _("This username is reserved. Please choose another.")
    if not service.EMAIL_RE.match(form["email"]):
        errors["email"] = _("Enter a valid e-mail address.")
    if not service.MIN_PASSWORD <= len(form["password"]) <= service.MAX_PASSWORD:
        errors["password"] = _("Use at least %(min)d characters.") % {"min": service.MIN_PASSWORD}
    if approval and not form["reason"].strip():
        errors["reason"] = _("Tell the moderators a little about yourself.")
    if not form["agreement"]:
        errors["agreement"] = _("You need to accept the server rules to join.")
    return errors


@router.post("/auth/sign_up", dependencies=[Depends(rate_limited("sign_up"))])
async def sign_up(request: Request) -> Response:
    if await current_viewer(request) is not None:  # a signed-in browser does not make another account
        return RedirectResponse("/home", status_code=303)
    raw = await request.form()
    runtime = runtime_of(request)
    settings = runtime.settings
    form = {"username": forms.text(raw, "username", limit=100).strip(),
            "email": forms.text(raw, "email", limit=300).strip(),
            "password": forms.text(raw, "password", limit=2000), "reason": forms.text(raw, "reason", limit=2000),
            "agreement": forms.flag(raw, "agreement")}
    kept = {k: v for k, v in form.items() if k != "password"}
    if settings.registrations is Registrations.closed:
        return await _auth_page(request, "sign_up", form=kept, status=403,
                                errors={"form": _("This server is not accepting new accounts.")})
    errors = _check_sign_up(form, settings.registrations is Registrations.approval)
    if errors:
        return await _auth_page(request, "sign_up", form=kept, errors=errors, status=422)
    response = RedirectResponse("/home", status_code=303)
    try:
        async with runtime.db.transaction() as session:
            account = await service.register(
                session, settings=settings, passwords=Passwords.for_settings(settings),
                form=service.Registration(form["username"], form["email"], form["password"],
                                          locale=i18n.account_locale(i18n.current()),
                                          reason=form["reason"]))
            if account.approved:
                await start_session(session, account=account, response=response, request=request)
    except AgoraError as refused:
        field = "username" if "username" in refused.message else "email" if "email" in refused.message else "form"
        message = {"username": _("This username is already taken."),
                   "email": _("This e-mail address is already registered.")}.get(field, refusal(refused.message))
        return await _auth_page(request, "sign_up", form=kept, errors={field: message}, status=422)
    if not account.approved:
        return await _auth_page(request, "sign_in", notice=_(
            "Thanks for signing up! A moderator will review your account; you can sign in once it is approved."))
    return response


@router.post("/auth/sign_out")
async def sign_out(request: Request) -> Response:
    viewer = await current_viewer(request)
    response = RedirectResponse("/", status_code=303)
    if viewer is not None:
        async with runtime_of(request).db.transaction() as session:
            await end_session(session, viewer=viewer, response=response)
    return response
