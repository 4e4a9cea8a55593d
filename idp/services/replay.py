"""One-time values (client assertion and DPoP proof ``jti``s) remembered until they expire.

The ``used_link`` table's primary key makes "first use" atomic for every worker and node on
one database. The row is committed at once: the request may still fail and roll back, and the
value must stay spent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from idp import security
from idp.extensions import db
from idp.models import UsedLink


def first_use(purpose: str, value: str, expires_at: datetime) -> bool:
    """True the first time ``value`` is seen for ``purpose``; False ever after (until purged)."""
    try:
        with db.session.begin_nested():
            db.session.add(
                UsedLink(
                    nonce_digest=security.digest(f"{purpose}:{value}"),
                    purpose=purpose,
                    expires_at=expires_at,
                )
            )
    except IntegrityError:
        return False
    db.session.commit()
    return True
