"""A relying party for tests/real_provider.rs built on Authlib's requests
client: a tiny plain-HTTP server on 127.0.0.1 with the same routes and
environment as rp.mjs (GET /login starts a code flow with PKCE, state in a
server-side session; GET /callback redeems the code and, if asked,
refreshes). Run it under `oauthscope exec`: requests honours HTTPS_PROXY
and REQUESTS_CA_BUNDLE.

Environment: RP_PORT, RP_ISSUER, RP_CLIENT_ID, RP_CLIENT_SECRET,
RP_AUTH (basic|post), RP_REDIRECT_URI, RP_TOKEN_REDIRECT_URI, RP_SCOPE,
RP_WRONG_VERIFIER, RP_REDEEM_TWICE, RP_WAIT_MS, RP_REFRESH (see rp.mjs).
"""

import html
import http.server
import os
import secrets
import time
import urllib.parse

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

env = os.environ
PORT = int(env["RP_PORT"])
REDIRECT_URI = env["RP_REDIRECT_URI"]
TOKEN_REDIRECT_URI = env.get("RP_TOKEN_REDIRECT_URI") or REDIRECT_URI
SCOPE = env.get("RP_SCOPE") or "openid offline_access"
AUTH = "client_secret_post" if env.get("RP_AUTH") == "post" else "client_secret_basic"

_metadata = None


def metadata():
    global _metadata
    if _metadata is None:
        url = env["RP_ISSUER"].rstrip("/") + "/.well-known/openid-configuration"
        resp = requests.get(url, timeout=30)
        resp.raise_for_status()
        _metadata = resp.json()
    return _metadata


def session(redirect_uri):
    return OAuth2Session(
        env["RP_CLIENT_ID"],
        env["RP_CLIENT_SECRET"],
        scope=SCOPE,
        redirect_uri=redirect_uri,
        token_endpoint_auth_method=AUTH,
        code_challenge_method="S256",
    )


SESSIONS = {}


def describe(e):
    parts = [getattr(e, "error", None), getattr(e, "description", None), str(e)]
    return " / ".join(p for p in parts if p)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def page(self, status, text, headers=()):
        body = f'<!DOCTYPE html><html><body><h1 id="rp-result">{html.escape(text)}</h1></body></html>'
        self.send_response(status)
        self.send_header("content-type", "text/html")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("content-length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def sid(self):
        for part in self.headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "sid":
                return value
        return None

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        try:
            if url.path == "/login":
                return self.login()
            if url.path in ("/callback", "/callback/"):
                return self.callback(url)
            return self.page(404, "not found")
        except Exception as e:  # the page says what went wrong
            return self.page(500, f"error: {describe(e)}")

    def login(self):
        meta = metadata()
        sid = self.sid() or secrets.token_hex(16)
        verifier = generate_token(48)
        state = generate_token(24)
        nonce = generate_token(24)
        extra = {"prompt": "consent"} if "offline_access" in SCOPE else {}
        url, _ = session(REDIRECT_URI).create_authorization_url(
            meta["authorization_endpoint"],
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            **extra,
        )
        SESSIONS[sid] = {"state": state, "verifier": verifier}
        self.page(
            302,
            "redirecting",
            [("location", url), ("set-cookie", f"sid={sid}; Path=/; HttpOnly; SameSite=Lax")],
        )

    def callback(self, url):
        query = dict(urllib.parse.parse_qsl(url.query))
        pending = SESSIONS.get(self.sid())
        if not pending or pending["state"] != query.get("state"):
            return self.page(400, "state mismatch")
        del SESSIONS[self.sid()]
        if "code" not in query:
            return self.page(502, f"login failed: {query.get('error')} / {query.get('error_description')}")
        meta = metadata()
        if env.get("RP_WAIT_MS"):
            time.sleep(int(env["RP_WAIT_MS"]) / 1000)
        verifier = generate_token(48) if env.get("RP_WRONG_VERIFIER") else pending["verifier"]
        client = session(TOKEN_REDIRECT_URI)

        def redeem():
            return client.fetch_token(
                meta["token_endpoint"],
                grant_type="authorization_code",
                code=query["code"],
                code_verifier=verifier,
                state=query["state"],
            )

        try:
            token = redeem()
        except Exception as e:
            return self.page(502, f"login failed: {describe(e)}")
        if env.get("RP_REDEEM_TWICE"):
            try:
                redeem()
                return self.page(500, "the second redemption worked")
            except Exception as e:
                return self.page(502, f"second redemption failed: {describe(e)}")
        if env.get("RP_REFRESH"):
            # As apps do: refresh with the session's token (Authlib then sends
            # no refresh_token parameter at all when none was issued).
            first = token.get("refresh_token")
            try:
                client.refresh_token(meta["token_endpoint"])
                if env["RP_REFRESH"] == "reuse":
                    client.refresh_token(meta["token_endpoint"], refresh_token=first)
            except Exception as e:
                return self.page(502, f"refresh failed: {describe(e)}")
            return self.page(200, "signed in, refreshed")
        return self.page(200, "signed in")


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
