"""The payments API (`/api/v1/wallet`, `/transfers`, `/payment_requests`, `/holds`, `/red_packets`),
in Stripe's conventions: integer minor units, `object` fields, `Idempotency-Key` on every money-moving
POST, and errors as `{"error": {"type", "code", "message", "param"}}`."""
