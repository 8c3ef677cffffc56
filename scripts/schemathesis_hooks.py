"""Schemathesis hooks for scripts/schemathesis.sh.

`tome_positive_data_acceptance` replaces the built-in `positive_data_acceptance`. It is the same
check, except that it lets through the few rejections no schema can foresee because they depend
on what the server holds, not on the request's shape:

- a pagination cursor the server did not issue (400, `details.field == "cursor"`): cursors are
  opaque and signed, so any other string of the same shape is still not one;
- a reference to something that does not exist in the knowledge base, a slug another knowledge
  base already has, an article related to itself (422 with one of the reasons below);
- what the operator's settings decide (`folder` sources and `file://` URLs are off unless the
  server enables them) and the one rule across fields of a source (`token` needs an `https://`
  URL), which the document states in words (422);
- an update of a project none of whose knowledge bases has a source (400, `details.field ==
  "projectId"`).

Every other 400 or 422 of a schema-valid request still fails the run.
"""

import json

import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

STATE_DEPENDENT_REASONS = (
    "does not exist in this knowledge base",
    "belongs to a different category than category_id",
    "is not an article of this knowledge base",
    "no such article in this knowledge base",
    "an article cannot be related to itself",
    "is already used by another",
    "folder sources are disabled on this server",
    "file:// URLs are disabled on this server",
    "is only used with https:// URLs",
)


def _state_dependent(response) -> bool:
    try:
        details = (json.loads(response.text) or {}).get("error", {}).get("details") or {}
    except (ValueError, AttributeError):
        return False
    if not isinstance(details, dict):
        return False
    reason = str(details.get("reason", ""))
    if response.status_code == 400:
        return details.get("field") == "cursor" or reason.startswith(
            "No knowledge base of the project has a source"
        )
    if response.status_code == 422:
        return any(reason.startswith(r) for r in STATE_DEPENDENT_REASONS)
    return False


@schemathesis.check
def tome_positive_data_acceptance(ctx, response, case):
    if _state_dependent(response):
        return None
    return positive_data_acceptance(ctx, response, case)
