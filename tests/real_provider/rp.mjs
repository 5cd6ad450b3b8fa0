// A relying party for tests/real_provider.rs built on panva's openid-client
// (certified): a tiny plain-HTTP server on 127.0.0.1. GET /login starts an
// authorization-code flow with PKCE (state, nonce and verifier in a
// server-side session, one pending login per session); GET /callback
// redeems the code and, if asked, refreshes. Run it under `oauthscope exec`:
// its back channel (discovery, JWKS, token) goes through HTTPS_PROXY via an
// undici proxy agent (Node 20's fetch ignores proxy variables), trusting
// NODE_EXTRA_CA_CERTS.
//
// Environment (what each misconfiguration scenario changes):
//   RP_PORT                 port on 127.0.0.1
//   RP_ISSUER               where discovery is fetched (the expected issuer)
//   RP_CLIENT_ID, RP_CLIENT_SECRET
//   RP_AUTH                 basic (client_secret_basic, default) or post
//   RP_REDIRECT_URI         redirect_uri sent at authorize
//   RP_TOKEN_REDIRECT_URI   redirect_uri sent at the token endpoint (default: RP_REDIRECT_URI)
//   RP_SCOPE                default "openid offline_access"
//   RP_WRONG_VERIFIER=1     send another code_verifier than the challenge's
//   RP_REDEEM_TWICE=1       redeem the code a second time
//   RP_WAIT_MS              wait before redeeming
//   RP_REFRESH              "" (none), "once", or "reuse" (refresh twice with the first refresh token)
import http from 'node:http';
import crypto from 'node:crypto';
import * as client from 'openid-client';
import { ProxyAgent, fetch as undiciFetch } from 'undici';

const env = process.env;
const port = Number(env.RP_PORT);
const redirectUri = env.RP_REDIRECT_URI;
const tokenRedirectUri = env.RP_TOKEN_REDIRECT_URI || redirectUri;
const scope = env.RP_SCOPE || 'openid offline_access';

const proxy = env.HTTPS_PROXY || env.https_proxy;
const agent = proxy ? new ProxyAgent(proxy) : undefined;
const viaProxy = (url, options) => undiciFetch(url, { ...options, dispatcher: agent });

let config;
async function configuration() {
  if (!config) {
    const auth = env.RP_AUTH === 'post'
      ? client.ClientSecretPost(env.RP_CLIENT_SECRET)
      : client.ClientSecretBasic(env.RP_CLIENT_SECRET);
    config = await client.discovery(
      new URL(env.RP_ISSUER),
      env.RP_CLIENT_ID,
      { redirect_uris: [redirectUri], response_types: ['code'] },
      auth,
      { [client.customFetch]: viaProxy },
    );
    config[client.customFetch] = viaProxy;
  }
  return config;
}

const sessions = new Map();
const sidOf = (req) => /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie || '')?.[1];

function page(res, status, text, headers = {}) {
  res.writeHead(status, { 'content-type': 'text/html', ...headers });
  res.end(`<!DOCTYPE html><html><body><h1 id="rp-result">${text.replace(/[<>&]/g, '')}</h1></body></html>`);
}

const describe = (e) => [e.error, e.error_description, e.code, e.message].filter(Boolean).join(' / ');

async function callback(req, res, url) {
  const sid = sidOf(req);
  const pending = sessions.get(sid);
  if (!pending || pending.state !== url.searchParams.get('state')) {
    return page(res, 400, 'state mismatch');
  }
  sessions.delete(sid);
  const cfg = await configuration();
  if (env.RP_WAIT_MS) await new Promise((r) => setTimeout(r, Number(env.RP_WAIT_MS)));
  // The redirect_uri of the token request is the current URL without its query.
  const current = new URL(tokenRedirectUri);
  current.search = url.search;
  const verifier = env.RP_WRONG_VERIFIER ? client.randomPKCECodeVerifier() : pending.verifier;
  const checks = { pkceCodeVerifier: verifier, expectedState: pending.state, expectedNonce: pending.nonce };
  let tokens;
  try {
    tokens = await client.authorizationCodeGrant(cfg, current, checks);
  } catch (e) {
    return page(res, 502, `login failed: ${describe(e)}`);
  }
  if (env.RP_REDEEM_TWICE) {
    try {
      await client.authorizationCodeGrant(cfg, current, checks);
      return page(res, 500, 'the second redemption worked');
    } catch (e) {
      return page(res, 502, `second redemption failed: ${describe(e)}`);
    }
  }
  const sub = tokens.claims()?.sub;
  if (env.RP_REFRESH) {
    const first = tokens.refresh_token;
    if (!first) return page(res, 502, `refresh failed: no refresh_token (signed in as ${sub})`);
    try {
      await client.refreshTokenGrant(cfg, first);
      if (env.RP_REFRESH === 'reuse') await client.refreshTokenGrant(cfg, first);
    } catch (e) {
      return page(res, 502, `refresh failed: ${describe(e)}`);
    }
    return page(res, 200, `signed in as ${sub}, refreshed`);
  }
  return page(res, 200, `signed in as ${sub}`);
}

async function login(req, res) {
  const cfg = await configuration();
  const sid = sidOf(req) || crypto.randomBytes(16).toString('hex');
  const pending = {
    state: client.randomState(),
    nonce: client.randomNonce(),
    verifier: client.randomPKCECodeVerifier(),
  };
  sessions.set(sid, pending);
  const target = client.buildAuthorizationUrl(cfg, {
    redirect_uri: redirectUri,
    scope,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
    code_challenge_method: 'S256',
    ...(scope.includes('offline_access') ? { prompt: 'consent' } : {}),
  });
  res.writeHead(302, {
    location: target.href,
    'set-cookie': `sid=${sid}; Path=/; HttpOnly; SameSite=Lax`,
  });
  res.end();
}

http
  .createServer(async (req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    try {
      if (url.pathname === '/login') return await login(req, res);
      if (url.pathname === '/callback' || url.pathname === '/callback/') return await callback(req, res, url);
      return page(res, 404, 'not found');
    } catch (e) {
      return page(res, 500, `error: ${describe(e)}`);
    }
  })
  .listen(port, '127.0.0.1', () => console.log('listening'));
