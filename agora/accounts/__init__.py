"""Sign-up, sign-in, OAuth 2 applications and tokens, profiles."""
