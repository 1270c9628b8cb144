// A real OpenID Connect provider on loopback for tests/test_oidc.py (node `oidc-provider`).
// One confidential client, PKCE required, an interaction that signs the "current test account" in without a form
// (the tests choose who that is through /__test/account), and /__test/mode, which makes the token endpoint hand out
// a broken ID token (tampered signature, wrong nonce, expired, signed with an unknown key) so the tests can check
// that motcua refuses each. Environment: PORT, KEY_FILE (the signing JWK, created when missing), CLIENT_ID,
// CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI.
import fs from 'node:fs';
import http from 'node:http';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;

async function signingKey() {
  if (fs.existsSync(process.env.KEY_FILE)) return JSON.parse(fs.readFileSync(process.env.KEY_FILE, 'utf8'));
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(privateKey)), alg: 'RS256', use: 'sig' };
  jwk.kid = await jose.calculateJwkThumbprint(jwk);
  fs.writeFileSync(process.env.KEY_FILE, JSON.stringify(jwk));
  return jwk;
}

const key = await signingKey();
let account = { sub: '001203004567', name: 'Nguyễn Văn An', phone_number: '0912345678' };
let mode = 'normal';

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    post_logout_redirect_uris: [process.env.POST_LOGOUT_REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [key] },
  pkce: { required: () => true },
  conformIdTokenClaims: false, // the claims go in the ID token, as motcua reads them from there first
  claims: { openid: ['sub'], profile: ['name'], phone: ['phone_number'], personal_id: ['personal_id'] },
  scopes: ['openid', 'profile', 'phone', 'personal_id'],
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      // the confirmation page, confirmed at once (a person would tap the button) and accessible for the a11y check
      async logoutSource(ctx, form) {
        ctx.body = `<!DOCTYPE html><html lang="vi"><head><title>Đăng xuất</title></head><body><main>${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Đăng xuất</button></main>
<script>document.querySelector('button[name=logout]').click()</script></body></html>`;
      },
    },
  },
  async findAccount(ctx, sub) {
    const claims = account.sub === sub ? account : { sub };
    return { accountId: sub, async claims() { return { ...claims } } };
  },
  async loadExistingGrant(ctx) { // no consent screen: the test account agrees to everything the client asks
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile phone personal_id');
    await grant.save();
    return grant;
  },
  interactions: { url(ctx, interaction) { return `/interaction/${interaction.uid}`; } },
  ttl: { Session: 3600, Interaction: 600, AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Grant: 3600 },
});
provider.proxy = false;

const privateKey = await jose.importJWK(key, 'RS256');

async function resign(idToken) {
  const payload = jose.decodeJwt(idToken);
  if (mode === 'tamper') { // the signature of the genuine token, over changed claims
    const [header, , signature] = idToken.split('.');
    const changed = Buffer.from(JSON.stringify({ ...payload, sub: '009999999999' })).toString('base64url');
    return `${header}.${changed}.${signature}`;
  }
  if (mode === 'wrong_nonce') payload.nonce = 'not-the-nonce-motcua-sent';
  if (mode === 'expired') { payload.iat -= 7200; payload.exp = payload.iat + 600; }
  if (mode === 'unknown_key') {
    const { privateKey: stranger } = await jose.generateKeyPair('RS256');
    return new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'a-key-nobody-published' }).sign(stranger);
  }
  return new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(privateKey);
}

// The token endpoint's answer, changed after the provider made it, when a test asked for a broken ID token.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && mode !== 'normal' && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: await resign(ctx.body.id_token) };
  }
});

const callback = provider.callback();
http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/__test/account') {
      account = JSON.parse(url.searchParams.get('claims'));
      res.end('ok');
      return;
    }
    if (url.pathname === '/__test/mode') {
      mode = url.searchParams.get('mode');
      res.end('ok');
      return;
    }
    if (url.pathname.startsWith('/interaction/')) { // the login "form": the current test account, at once
      const details = await provider.interactionDetails(req, res);
      const result = details.prompt.name === 'login' ? { login: { accountId: account.sub } } : {};
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
      return;
    }
    callback(req, res);
  } catch (error) {
    res.statusCode = 500;
    res.end(String(error && error.stack));
  }
}).listen(port, '127.0.0.1', () => console.log(`listening ${issuer} kid=${key.kid}`));
