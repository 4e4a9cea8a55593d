"""A scripted user agent over real HTTP: follows the idp's pages like a person with a browser.

It stops at the client's redirect URI (nothing listens there) and hands back that URL, the way
a browser would hand it to the application.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
NEXT = re.compile(r'name="next" type="hidden" value="([^"]*)"')


@dataclass
class UserAgent:
    base_url: str
    email: str = ""
    password: str = ""
    session: requests.Session = field(default_factory=requests.Session)
    pages: list[str] = field(default_factory=list)
    # Gives the authenticator-app code to type when the idp asks for a second step.
    second_factor: Callable[[], str] | None = None

    def _csrf(self, html: str) -> str:
        match = CSRF.search(html)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def go(self, url: str, consent: str | None = "allow", select: str = "continue") -> str:
        """Follow redirects through the idp until one leaves it; return that URL (or the page)."""
        response = self.session.get(url, allow_redirects=False, timeout=10)
        for _ in range(20):
            if response.is_redirect:
                target = urljoin(response.url, response.headers["Location"])
                if not target.startswith(self.base_url):
                    return target
                if urlsplit(target).path == "/login":
                    response = self._login(target)
                    continue
                if urlsplit(target).path == "/login/verify" and self.second_factor is not None:
                    response = self.verify(target)
                    continue
                response = self.session.get(target, allow_redirects=False, timeout=10)
                continue
            html = response.text
            self.pages.append(html)
            if 'value="allow"' in html and consent is not None:
                response = self.session.post(
                    response.url,
                    data={"csrf_token": self._csrf(html), "decision": consent},
                    allow_redirects=False,
                    timeout=10,
                )
                continue
            if 'value="continue"' in html and 'name="decision"' in html:
                response = self.session.post(
                    response.url,
                    data={"csrf_token": self._csrf(html), "decision": select},
                    allow_redirects=False,
                    timeout=10,
                )
                continue
            return response.url
        raise AssertionError("too many redirects")

    def _login(self, login_url: str) -> requests.Response:
        page = self.session.get(login_url, timeout=10)
        self.pages.append(page.text)
        next_value = NEXT.search(page.text)
        return self.session.post(
            urljoin(self.base_url, "/login"),
            data={
                "csrf_token": self._csrf(page.text),
                "email": self.email,
                "password": self.password,
                "next": (next_value.group(1) if next_value else "").replace("&amp;", "&"),
            },
            allow_redirects=False,
            timeout=10,
        )

    def verify(self, verify_url: str) -> requests.Response:
        assert self.second_factor is not None
        page = self.session.get(verify_url, timeout=10)
        self.pages.append(page.text)
        return self.session.post(
            verify_url,
            data={"csrf_token": self._csrf(page.text), "code": self.second_factor()},
            allow_redirects=False,
            timeout=10,
        )

    @property
    def last_page(self) -> str:
        return self.pages[-1] if self.pages else ""
