"""The console's forms; each carries its CSRF token like every form of idp."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from idp.views.forms import REQUIRED, BaseForm, email_field, one_time_code_field, strip


class AdminLoginForm(BaseForm):
    email = email_field()
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(REQUIRED), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField(validators=[Optional(), Length(max=2048)])


class AdminCodeForm(BaseForm):
    code = one_time_code_field(_l("6-digit code from your authenticator app"))


ROLE_CHOICES = [
    SelectChoice("viewer", _l("Viewer: reads everything, changes nothing")),
    SelectChoice("support", _l("Support: account actions, links and merges")),
    SelectChoice("admin", _l("Admin: everything, including applications and staff")),
]


class NewStaffForm(BaseForm):
    email = email_field()
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired(REQUIRED)])


class RoleForm(BaseForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired(REQUIRED)])


class ReasonForm(BaseForm):
    """Actions that the audit log should explain carry a reason."""

    reason = StringField(
        _l("Reason"),
        validators=[DataRequired(REQUIRED), Length(max=500)],
        filters=[strip],
        description=_l("Written to the audit log."),
    )
