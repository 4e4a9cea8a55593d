"""The console's forms; each carries its CSRF token like every form of idp."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired, Length, Optional

from idp.views.forms import REQUIRED, BaseForm, email_field, one_time_code_field


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
