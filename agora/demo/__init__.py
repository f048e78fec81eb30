"""The demo community: members, follows and several hundred posts a new user meets first."""
