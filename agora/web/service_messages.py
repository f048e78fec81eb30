"""Refusals the services word in English that a member can meet in the web app, marked here for the
catalogs. The pages show any service refusal through `i18n.refusal()`: a message listed here is
translated, any other is shown as the service wrote it (so a new one is never hidden, only English
until someone adds it here and runs `make messages`)."""

from agora.web.i18n import N_

KNOWN = (
    N_("You cannot follow yourself"),
    N_("This action is not allowed"),
    N_("This post cannot be boosted"),
    N_("Only public and unlisted posts can be quoted"),
    N_("The post you are replying to does not exist or is not visible to you"),
    N_("The post you are quoting does not exist or is not visible to you"),
    N_("Follow request not found"),
    N_("Too many requests"),
    N_("registrations are closed on this server"),
    N_("current password is wrong"),
    N_("username is already taken"),
    N_("email is already registered"),
    N_("username or email is already taken"),
    N_("file is empty"),
    N_("Validation failed: Text can't be blank"),
    N_("Validation failed: You can only pin your own posts"),
    N_("Validation failed: Direct messages cannot be pinned"),
)
