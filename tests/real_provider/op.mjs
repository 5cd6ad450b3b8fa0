// A real OpenID provider for tests/real_provider.rs: panva's oidc-provider
// (OpenID certified) over TLS on loopback, with its development login and
// consent pages (any login and password are accepted).
//
// Environment:
//   OP_PORT      port on 127.0.0.1
//   OP_ISSUER    the issuer it announces (default https://127.0.0.1:OP_PORT)
//   OP_CERT, OP_KEY  PEM files of its TLS certificate and key
//   OP_CLIENTS   JSON array of client registrations; extra fields read here:
//                  code_ttl   authorization code lifetime in seconds (default 60)
//                  rotate     rotate refresh tokens on every use (default false)
// Prints "listening" on stdout once it accepts connections.
import https from 'node:https';
import fs from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.OP_PORT);
const issuer = process.env.OP_ISSUER || `https://127.0.0.1:${port}`;
const registrations = JSON.parse(process.env.OP_CLIENTS || '[]');
const extra = new Map();
const clients = registrations.map(({ code_ttl, rotate, ...c }) => {
  extra.set(c.client_id, { code_ttl, rotate });
  return { grant_types: ['authorization_code', 'refresh_token'], ...c };
});
const of = (client) => extra.get(client?.clientId) || {};

const provider = new Provider(issuer, {
  clients,
  cookies: { keys: ['real-provider-test-cookie-key'] },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: `${sub}@example.test` }),
  }),
  claims: { openid: ['sub'], email: ['email'] },
  features: { devInteractions: { enabled: true } },
  ttl: {
    AuthorizationCode: (_ctx, _code, client) => of(client).code_ttl ?? 60,
    AccessToken: 600,
    IdToken: 600,
    RefreshToken: 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  rotateRefreshToken: (ctx) => Boolean(of(ctx.oidc.entities.Client).rotate),
  // Say why a request failed in the response (the tests read it).
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html><head><title>oops</title></head><body><h1 id="op-error">oops! something went wrong</h1><pre>${Object.entries(out)
      .map(([k, v]) => `${k}: ${String(v).replace(/[<>&]/g, '')}`)
      .join('\n')}</pre></body></html>`;
  },
});
provider.proxy = false;

https
  .createServer(
    { cert: fs.readFileSync(process.env.OP_CERT), key: fs.readFileSync(process.env.OP_KEY) },
    provider.callback(),
  )
  .listen(port, '127.0.0.1', () => {
    console.log('listening');
  });
