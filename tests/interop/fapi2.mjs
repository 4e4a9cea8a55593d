// A FAPI 2.0 relying party on panva's openid-client: PAR, DPoP, private_key_jwt, RFC 8707.
//
// Usage: node fapi2.mjs '<json settings>'
//   settings: issuer, redirect_uri, scope, auth_method (private_key_jwt | client_secret_basic),
//   par (push the request; default true), dpop (always | par_only | never: where proofs go),
//   resource (list, in the authorization request), token_resource (in the token request).
//
// Conversation (one JSON object per line):
//   -> {"keys": {"client_jwk": ..., "dpop_jwk": ...}}  public halves of the keys made here
//   <- {"client": {"client_id": ..., "client_secret": ...}}  what idp registered for them
//   -> {"authorization_url": "..."}                     the front channel, for pytest
//   <- {"callback": "..."}                              where the browser landed
//   -> {"result": {...}}                                what openid-client got and accepted
//   -> {"error": {...}}                                 openid-client refused, or was refused
//
// Both keys are made with WebCrypto here and never leave Node; pytest registers the public
// client key (private_key_jwt, RFC 7523) and checks tokens against the DPoP key's thumbprint.
// openid-client sends the proofs and answers `use_dpop_nonce` itself (RFC 9449 8). Every
// request it makes is logged in `exchanges`, so pytest sees the nonce round trips happen.

import { webcrypto } from "node:crypto";
import { createInterface } from "node:readline";
import * as client from "openid-client";

const settings = JSON.parse(process.argv[2]);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const KID = "rp-signing-1";
const exchanges = [];

function say(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function hear() {
  const { value, done } = await lines.next();
  if (done) throw new Error("stdin closed before pytest answered");
  return JSON.parse(value);
}

function jwtClaims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}

// Only the members RFC 7517/7518 define for a public EC key; WebCrypto adds key_ops and ext.
async function publicJwk(key) {
  const { kty, crv, x, y } = await webcrypto.subtle.exportKey("jwk", key);
  return { kty, crv, x, y };
}

function describe(error) {
  // oauth4webapi puts the server's error code in `error` (JSON body), or the parsed
  // WWW-Authenticate challenges in `cause` (RFC 6750 3, RFC 9449 7.1).
  const challenge = Array.isArray(error.cause) ? error.cause[0] : undefined;
  return {
    name: error.name,
    code: error.code ?? null,
    message: error.message,
    error: error.error ?? challenge?.parameters?.error ?? null,
    scheme: challenge?.scheme ?? null,
    status: error.status ?? null,
    cause: challenge ? null : error.cause?.message ?? null,
  };
}

// Logs what went over the wire, leaving requests and responses untouched.
async function loggingFetch(url, options) {
  const response = await fetch(url, options);
  const proof = options.headers?.dpop;
  let error = null;
  if (!response.ok && (response.headers.get("content-type") ?? "").includes("json")) {
    error = (await response.clone().json()).error ?? null;
  }
  const challenge = response.headers.get("www-authenticate");
  exchanges.push({
    path: new URL(url).pathname,
    status: response.status,
    client_assertion:
      options.body instanceof URLSearchParams && options.body.has("client_assertion"),
    proof: Boolean(proof),
    proof_nonce: proof ? jwtClaims(proof).nonce ?? null : null,
    dpop_nonce_header: response.headers.has("dpop-nonce"),
    error: error ?? (challenge?.match(/error="([^"]+)"/)?.[1] ?? null),
  });
  return response;
}

async function attempt(step) {
  try {
    return { value: await step() };
  } catch (error) {
    return { error: describe(error) };
  }
}

async function main() {
  const signing = await webcrypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"],
  );
  const dpopKeys = await client.randomDPoPKeyPair("ES256");
  const clientJwk = { ...(await publicJwk(signing.publicKey)), kid: KID, alg: "ES256", use: "sig" };
  say({ keys: { client_jwk: clientJwk, dpop_jwk: await publicJwk(dpopKeys.publicKey) } });
  const { client: registered } = await hear();

  const authentication = settings.auth_method === "private_key_jwt"
    ? client.PrivateKeyJwt({ key: signing.privateKey, kid: KID })
    : client.ClientSecretBasic(registered.client_secret);
  const metadata = {
    redirect_uris: [settings.redirect_uri],
    response_types: ["code"],
    token_endpoint_auth_method: settings.auth_method,
    id_token_signed_response_alg: "ES256",
  };
  const config = await client.discovery(
    new URL(settings.issuer), registered.client_id, metadata, authentication,
    {
      // Test-only: idp listens on plain HTTP on the loopback interface.
      execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
      timeout: 10,
    },
  );
  config[client.customFetch] = loggingFetch;
  const DPoP = client.getDPoPHandle(config, dpopKeys);
  const dpop = settings.dpop ?? "always";
  const atPar = dpop === "never" ? undefined : { DPoP };
  const atToken = dpop === "always" ? { DPoP } : undefined;

  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params = new URLSearchParams({
    redirect_uri: settings.redirect_uri,
    scope: settings.scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  for (const resource of settings.resource ?? []) params.append("resource", resource);
  const authorizationUrl = settings.par === false
    ? client.buildAuthorizationUrl(config, params)
    : await client.buildAuthorizationUrlWithPAR(config, params, atPar);
  say({ authorization_url: authorizationUrl.href });

  const { callback } = await hear();
  const tokenParams = settings.token_resource ? { resource: settings.token_resource } : undefined;
  const tokens = await client.authorizationCodeGrant(
    config, new URL(callback),
    {
      pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
      idTokenExpected: true,
    },
    tokenParams, atToken,
  );
  const claims = tokens.claims();
  const userinfo = await attempt(
    () => client.fetchUserInfo(config, tokens.access_token, claims.sub, atToken),
  );
  // RFC 7662 with the same client authentication: idp's own view of the token's binding.
  const introspection = await attempt(
    () => client.tokenIntrospection(config, tokens.access_token),
  );
  let refreshed = null;
  if (tokens.refresh_token) {
    const next = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, atToken);
    refreshed = {
      token_type: next.token_type,
      access_token: next.access_token,
      claims: next.claims() ?? null,
      rotated: Boolean(next.refresh_token) && next.refresh_token !== tokens.refresh_token,
    };
  }
  say({
    result: {
      issuer: config.serverMetadata().issuer,
      token_type: tokens.token_type,
      access_token: tokens.access_token,
      scope: tokens.scope ?? null,
      claims,
      userinfo,
      introspection,
      refreshed,
      exchanges,
    },
  });
}

try {
  await main();
} catch (error) {
  say({ error: { ...describe(error), exchanges } });
  process.exitCode = 1;
} finally {
  lines.return?.();
  process.stdin.destroy();
}
