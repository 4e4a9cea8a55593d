// A relying party built on panva's certified openid-client, driven by pytest over JSON lines.
//
// Usage: node rp.mjs '<json settings>'
//   settings: issuer, client_id, client_secret, auth_method (client_secret_basic |
//   client_secret_post | none), redirect_uri, alg (the client's registered
//   id_token_signed_response_alg), scope, post_logout_redirect_uri, forge_id_token.
//
// Conversation (one JSON object per line):
//   -> {"authorization_url": "..."}        the front channel, for pytest's user agent
//   <- {"callback": "..."}                 the URL the browser landed on at the client
//   -> {"result": {...}}                   every claim seen, once every check passed
//   -> {"error": {...}}                    openid-client refused something; the test reads why
//
// openid-client does the protocol checks: discovery, RFC 9207 `iss`, state, PKCE, nonce, the
// ID token's iss/aud/azp/exp/iat/alg and (enableNonRepudiationChecks) its signature against the
// JWKS, the UserInfo `sub`. What it leaves to the application is checked here: at_hash (optional
// in the code flow, OIDC Core 3.1.3.8) and the refreshed ID token's sub/auth_time (OIDC Core 12.2).

import { createHash, webcrypto } from "node:crypto";
import { createInterface } from "node:readline";
import * as client from "openid-client";

const settings = JSON.parse(process.argv[2]);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function say(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function hear() {
  const { value, done } = await lines.next();
  if (done) throw new Error("stdin closed before pytest answered");
  return JSON.parse(value);
}

function b64url(bytes) {
  return Buffer.from(bytes).toString("base64url");
}

function jwtPart(token, index) {
  return JSON.parse(Buffer.from(token.split(".")[index], "base64url").toString("utf8"));
}

// OIDC Core 3.1.3.6: the left half of the hash of the ASCII access token, for *256 algorithms.
function halfHash(value) {
  const digest = createHash("sha256").update(value, "ascii").digest();
  return b64url(digest.subarray(0, digest.length / 2));
}

// A stranger's key under idp's own `kid`: the signature is well formed but not idp's.
const FORGERS = {
  ES256: {
    generate: { name: "ECDSA", namedCurve: "P-256" },
    sign: { name: "ECDSA", hash: "SHA-256" },
  },
  RS256: {
    generate: {
      name: "RSASSA-PKCS1-v1_5", modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256",
    },
    sign: { name: "RSASSA-PKCS1-v1_5" },
  },
};

async function forge(idToken) {
  const [header, payload] = idToken.split(".");
  const { alg } = jwtPart(idToken, 0);
  const recipe = FORGERS[alg];
  const { privateKey } = await webcrypto.subtle.generateKey(recipe.generate, false, ["sign"]);
  const input = new TextEncoder().encode(`${header}.${payload}`);
  const signature = await webcrypto.subtle.sign(recipe.sign, privateKey, input);
  return `${header}.${payload}.${b64url(new Uint8Array(signature))}`;
}

// Stands between openid-client and idp's token endpoint, only in the forged-signature test.
function forgingFetch(tokenEndpoint) {
  return async (url, options) => {
    const response = await fetch(url, options);
    if (url !== tokenEndpoint || !response.ok) return response;
    const body = await response.json();
    if (body.id_token) body.id_token = await forge(body.id_token);
    return Response.json(body, { status: response.status });
  };
}

function authentication() {
  switch (settings.auth_method) {
    case "client_secret_basic": return client.ClientSecretBasic(settings.client_secret);
    case "client_secret_post": return client.ClientSecretPost(settings.client_secret);
    case "none": return client.None();
    default: throw new Error(`unknown auth_method ${settings.auth_method}`);
  }
}

async function main() {
  const metadata = {
    redirect_uris: [settings.redirect_uri],
    response_types: ["code"],
    token_endpoint_auth_method: settings.auth_method,
    // Pinned, so a token signed with any other algorithm is refused (not just any supported one).
    id_token_signed_response_alg: settings.alg,
  };
  if (settings.client_secret) metadata.client_secret = settings.client_secret;
  const config = await client.discovery(
    new URL(settings.issuer), settings.client_id, metadata, authentication(),
    {
      // Test-only: idp listens on plain HTTP on the loopback interface.
      execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
      timeout: 10,
    },
  );
  const server = config.serverMetadata();
  if (settings.forge_id_token) config[client.customFetch] = forgingFetch(server.token_endpoint);

  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: settings.redirect_uri,
    scope: settings.scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  say({ authorization_url: authorizationUrl.href });

  const { callback } = await hear();
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const header = jwtPart(tokens.id_token, 0);
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

  let refreshed = null;
  if (tokens.refresh_token) {
    const next = await client.refreshTokenGrant(config, tokens.refresh_token);
    const again = next.claims();
    if (again && again.sub !== claims.sub) throw new Error("refreshed ID token changed sub");
    if (again && again.auth_time !== claims.auth_time) {
      throw new Error("refreshed ID token changed auth_time (OIDC Core 12.2)");
    }
    refreshed = {
      claims: again ?? null,
      header: next.id_token ? jwtPart(next.id_token, 0) : null,
      rotated: Boolean(next.refresh_token) && next.refresh_token !== tokens.refresh_token,
    };
  }

  let logout;
  if (server.end_session_endpoint) {
    const params = { id_token_hint: tokens.id_token, state: client.randomState() };
    if (settings.post_logout_redirect_uri) {
      params.post_logout_redirect_uri = settings.post_logout_redirect_uri;
    }
    logout = { url: client.buildEndSessionUrl(config, params).href, state: params.state };
  } else {
    logout = { skipped: "no end_session_endpoint in the discovery document" };
  }

  say({
    result: {
      issuer: server.issuer,
      id_token: { header, claims },
      at_hash_matches: claims.at_hash === halfHash(tokens.access_token),
      token_type: tokens.token_type,
      scope: tokens.scope ?? null,
      userinfo,
      refreshed,
      logout,
    },
  });
}

try {
  await main();
} catch (error) {
  say({
    error: {
      name: error.name,
      code: error.code ?? null,
      message: error.message,
      // oauth4webapi puts the server's error response or the failed check's inputs here.
      error: error.error ?? null,
      cause: error.cause?.message ?? null,
    },
  });
  process.exitCode = 1;
} finally {
  lines.return?.();
  process.stdin.destroy();
}
