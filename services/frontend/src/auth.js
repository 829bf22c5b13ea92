// Sign-in for the static site: OAuth 2.0 authorization code with PKCE (S256) against the issuer
// that /config.json names (written by `deploy.py --publish frontend`). Tokens live in this
// page's memory only: never localStorage or cookies, where any script or a later visitor of the
// machine could read them. Only the PKCE verifier, `state` and `nonce` cross the redirect, in
// sessionStorage (this tab only), and are removed as soon as the answer comes back.
"use strict";

globalThis.siteAuth = (() => {
  const CONFIG_URL = "/config.json";
  const PENDING_KEY = "site-auth-pending";
  // Callback parameters the authorization server adds; removed from the address bar on return.
  const CALLBACK_PARAMS = ["code", "state", "error", "error_description", "error_uri", "session_state", "iss"];

  let settings = null; // the "auth" object of config.json, or null when sign-in is off
  let endpoints = null; // {authorize, token, endSession}
  let session = null; // {accessToken, idToken, claims, expiresAt}: memory only
  const listeners = [];

  function notify() {
    for (const fn of listeners) fn();
  }

  function base64url(bytes) {
    let text = "";
    for (const b of bytes) text += String.fromCharCode(b);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomString() {
    return base64url(crypto.getRandomValues(new Uint8Array(32)));
  }

  async function s256(verifier) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    return base64url(new Uint8Array(digest));
  }

  // The ID token comes straight from the token endpoint over TLS, so (OIDC Core 3.1.3.7) its
  // claims are read without checking the signature; the APIs verify the access token themselves.
  function claimsOf(jwt) {
    try {
      const json = atob(String(jwt).split(".")[1].replace(/-/g, "+").replace(/_/g, "/"));
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
    } catch {
      return {}; // unreadable: fails the iss/aud/nonce check below
    }
  }

  function redirectUri() {
    return `${location.origin}/`;
  }

  async function getJson(url, what) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-cache" });
    } catch (err) {
      throw new Error(`${what}: network error: ${err.message}`);
    }
    if (!response.ok) throw new Error(`${what}: HTTP ${response.status}`);
    return response.json();
  }

  // Cognito's hosted UI has no end_session_endpoint in its discovery document; its logout
  // endpoint sits beside /oauth2/authorize and takes client_id and logout_uri.
  function logoutUrl(idToken) {
    if (endpoints.endSession) {
      const url = new URL(endpoints.endSession);
      url.searchParams.set("client_id", settings.clientId);
      url.searchParams.set("post_logout_redirect_uri", redirectUri());
      if (idToken) url.searchParams.set("id_token_hint", idToken);
      return url.toString();
    }
    const url = new URL(endpoints.authorize);
    if (!url.pathname.endsWith("/oauth2/authorize")) return null;
    const logout = new URL(url.pathname.replace(/oauth2\/authorize$/, "logout"), url.origin);
    logout.search = new URLSearchParams({ client_id: settings.clientId, logout_uri: redirectUri() }).toString();
    return logout.toString();
  }

  async function discover() {
    if (settings.authorizeUrl && settings.tokenUrl) {
      return { authorize: settings.authorizeUrl, token: settings.tokenUrl, endSession: null };
    }
    const url = `${settings.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const doc = await getJson(url, "sign-in settings");
    if (doc.issuer !== settings.issuer) throw new Error("sign-in settings: the discovery document names another issuer");
    return {
      authorize: settings.authorizeUrl || doc.authorization_endpoint,
      token: settings.tokenUrl || doc.token_endpoint,
      endSession: doc.end_session_endpoint || null,
    };
  }

  /** Start sign-in: a top-level navigation to the authorize endpoint. */
  async function signIn() {
    const pending = { state: randomString(), verifier: randomString(), nonce: randomString() };
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    const params = {
      response_type: "code",
      client_id: settings.clientId,
      redirect_uri: redirectUri(),
      scope: settings.scope,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await s256(pending.verifier),
      code_challenge_method: "S256",
    };
    // Cognito's access tokens carry the client id as their audience; other issuers (Auth0) issue
    // an access token for an API only when asked for its audience.
    if (settings.audience && settings.audience !== settings.clientId) params.audience = settings.audience;
    const url = new URL(endpoints.authorize);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    location.assign(url.toString());
  }

  function takePending() {
    const raw = sessionStorage.getItem(PENDING_KEY);
    sessionStorage.removeItem(PENDING_KEY);
    try {
      return raw ? JSON.parse(raw) : null;
    } catch {
      return null;
    }
  }

  function cleanAddress(url) {
    for (const key of CALLBACK_PARAMS) url.searchParams.delete(key);
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }

  async function exchange(code, pending) {
    const body = new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri(),
      client_id: settings.clientId,
      code_verifier: pending.verifier,
    });
    let response;
    try {
      response = await fetch(endpoints.token, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body: body.toString(),
      });
    } catch (err) {
      throw new Error(`sign-in failed: network error: ${err.message}`);
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok || !answer.access_token) {
      throw new Error(`sign-in failed: ${answer.error || "HTTP " + response.status}`);
    }
    return answer;
  }

  function accept(answer, pending) {
    const claims = claimsOf(answer.id_token);
    const audiences = [].concat(claims.aud || []);
    if (answer.id_token && (claims.iss !== settings.issuer || !audiences.includes(settings.clientId) ||
                            claims.nonce !== pending.nonce)) {
      throw new Error("sign-in refused: the ID token was not issued for this sign-in");
    }
    const lifetime = Number(answer.expires_in) > 0 ? Number(answer.expires_in) : 3600;
    session = { accessToken: answer.access_token, idToken: answer.id_token || null, claims,
                expiresAt: Date.now() + lifetime * 1000 };
  }

  // Back from the authorize endpoint? The code leaves the address bar and the pending sign-in
  // leaves sessionStorage at once, whatever happens next.
  function takeCallback(url) {
    const params = new URLSearchParams(url.search);
    if (!params.has("code") && !params.has("error")) return null;
    const pending = takePending();
    cleanAddress(url);
    return { params, pending };
  }

  // `state` must be the one this tab sent, or the answer belongs to someone else's sign-in
  // (login CSRF) and is refused without using the code.
  async function completeSignIn({ params, pending }) {
    if (!pending || !params.get("state") || params.get("state") !== pending.state) {
      throw new Error("sign-in refused: the answer does not match a sign-in started here — sign in again");
    }
    if (params.has("error")) {
      const reason = params.get("error_description") || params.get("error");
      throw new Error(`sign-in failed: ${reason}`);
    }
    accept(await exchange(params.get("code"), pending), pending);
  }

  /** Load /config.json and finish a sign-in in progress. Resolves to an error message or null. */
  async function init() {
    try {
      const config = await getJson(CONFIG_URL, "site settings");
      settings = config && config.auth ? config.auth : null;
    } catch {
      settings = null; // no config.json (a local build served as is): the site runs without sign-in
    }
    if (!settings) return null;
    try {
      const callback = takeCallback(new URL(location.href));
      endpoints = await discover();
      if (callback) await completeSignIn(callback);
      return null;
    } catch (err) {
      return err.message;
    } finally {
      notify();
    }
  }

  function signedIn() {
    if (session && Date.now() >= session.expiresAt) session = null;
    return session !== null;
  }

  function user() {
    if (!signedIn()) return null;
    const c = session.claims;
    return c.name || c.email || c["cognito:username"] || c.preferred_username || c.sub || "signed in";
  }

  /** Headers for an API call: the bearer token when signed in, nothing otherwise. */
  function headers() {
    return signedIn() ? { Authorization: `Bearer ${session.accessToken}` } : {};
  }

  /** An API answered 401: the token is no good any more, so offer sign-in again. */
  function rejected() {
    session = null;
    notify();
  }

  /** Forget the tokens; then end the identity provider's session too, when its logout URL is known. */
  function signOut() {
    const idToken = session && session.idToken;
    session = null;
    notify();
    const logout = endpoints ? logoutUrl(idToken) : null;
    if (logout) location.assign(logout);
  }

  return {
    init, signIn, signOut, headers, rejected, user,
    enabled: () => settings !== null && endpoints !== null,
    onChange: (fn) => listeners.push(fn),
  };
})();
