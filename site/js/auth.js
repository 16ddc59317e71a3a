// Accounts: sign in, create an account, stay signed in, refresh quietly, sign out.
// Talks to the Cognito user pool's own JSON API with the app client's id (no secret, no
// SDK). config.json names the pool, the client and the endpoint: Cognito's in AWS, the
// local server's stand-in (backed by moto) locally.

const KEY = "platescan.session.v1";
// Refresh this long before the access token expires, so a request never carries a stale one.
const REFRESH_MARGIN_MS = 2 * 60 * 1000;

/** An error whose message is fit to show to the user. */
export class AuthError extends Error {
  /** @param {string} message @param {string} [code] */
  constructor(message, code = "") {
    super(message);
    this.name = "AuthError";
    this.code = code;
  }
}

let config = null;
let session = null; // {accessToken, idToken, refreshToken, expiresAt, email, sub, admin}
let refreshing = null;
let pending = null; // {email, session}: an invited user's first sign-in, new password to choose
const listeners = new Set();

/** Call `listener(user or null)` whenever someone signs in or out. */
export function onChange(listener) {
  listeners.add(listener);
}

function emit() {
  const user = currentUser();
  for (const listener of listeners) listener(user);
}

/** The signed-in user's {email, sub, admin}, or null. */
export function currentUser() {
  return session ? { email: session.email, sub: session.sub, admin: session.admin } : null;
}

function decode(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = part + "=".repeat((4 - (part.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

function save() {
  try {
    if (session) localStorage.setItem(KEY, JSON.stringify(session));
    else localStorage.removeItem(KEY);
  } catch {
    // Private mode: the session lasts as long as the page.
  }
}

function adopt(result, previous = null) {
  const id = decode(result.IdToken || "");
  const access = decode(result.AccessToken || "");
  const groups = Array.isArray(access["cognito:groups"]) ? access["cognito:groups"] : [];
  session = {
    accessToken: result.AccessToken,
    idToken: result.IdToken,
    // A refresh answers without a new refresh token: keep the one we had.
    refreshToken: result.RefreshToken || (previous && previous.refreshToken),
    expiresAt: typeof access.exp === "number" ? access.exp * 1000 : Date.now() + (result.ExpiresIn || 3600) * 1000,
    email: typeof id.email === "string" ? id.email : (previous && previous.email) || "",
    sub: typeof access.sub === "string" ? access.sub : "",
    admin: groups.includes("admins"),
  };
  save();
}

/** Read the pool's settings and any saved session; say who is signed in. */
export function init(authConfig) {
  config = authConfig && authConfig.client_id && authConfig.endpoint ? authConfig : null;
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || "null");
    if (saved && typeof saved.accessToken === "string" && typeof saved.refreshToken === "string") session = saved;
  } catch {
    session = null;
  }
  emit();
}

const MESSAGES = {
  NotAuthorizedException: "The email or password is not right.",
  UserNotFoundException: "The email or password is not right.",
  UsernameExistsException: "There is already an account with this email. Sign in instead.",
  InvalidPasswordException: "Choose a longer password: at least 12 characters.",
  UserNotConfirmedException: "Confirm your email first: enter the code we sent you.",
  CodeMismatchException: "That code is not right. Check the email we sent you.",
  ExpiredCodeException: "That code has expired. Ask for a new one.",
  TooManyRequestsException: "Too many attempts. Wait a minute and try again.",
  LimitExceededException: "Too many attempts. Wait a minute and try again.",
};

async function call(target, body) {
  if (!config) throw new AuthError("Sign-in is not configured for this site.");
  let response;
  try {
    response = await fetch(config.endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}`,
      },
      body: JSON.stringify(body),
    });
  } catch {
    throw new AuthError("Could not reach the sign-in service. Check your connection and try again.");
  }
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    answer = {};
  }
  if (!response.ok) {
    const code = String(answer.__type || "").split("#").pop();
    const message = MESSAGES[code] || (typeof answer.message === "string" && answer.message) || "Sign-in failed.";
    throw new AuthError(message, code);
  }
  return answer;
}

/**
 * Sign in with email and password. Resolves to "signed-in", or "new-password" when an
 * invited user signs in with their temporary password and must choose their own.
 */
export async function signIn(email, password) {
  const answer = await call("InitiateAuth", {
    ClientId: config && config.client_id,
    AuthFlow: "USER_PASSWORD_AUTH",
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") {
    pending = { email, session: answer.Session };
    return "new-password";
  }
  if (!answer.AuthenticationResult) {
    throw new AuthError("This account needs a sign-in step this site does not offer. Ask an admin.");
  }
  adopt(answer.AuthenticationResult);
  emit();
  return "signed-in";
}

/** An invited user's own password, replacing the temporary one; signs them in. */
export async function setNewPassword(newPassword) {
  if (!pending) throw new AuthError("Sign in with your temporary password first.");
  const answer = await call("RespondToAuthChallenge", {
    ClientId: config && config.client_id,
    ChallengeName: "NEW_PASSWORD_REQUIRED",
    Session: pending.session,
    ChallengeResponses: { USERNAME: pending.email, NEW_PASSWORD: newPassword },
  });
  if (!answer.AuthenticationResult) throw new AuthError("Setting the password failed. Sign in again.");
  pending = null;
  adopt(answer.AuthenticationResult);
  emit();
}

/** Create an account; resolves to true when it is ready to sign in (else a code is on its way). */
export async function signUp(email, password) {
  const answer = await call("SignUp", {
    ClientId: config && config.client_id,
    Username: email,
    Password: password,
    UserAttributes: [{ Name: "email", Value: email }],
  });
  return Boolean(answer.UserConfirmed);
}

/** Confirm a new account with the code sent by email. */
export async function confirm(email, code) {
  await call("ConfirmSignUp", { ClientId: config && config.client_id, Username: email, ConfirmationCode: code });
}

async function refresh() {
  if (!session || !session.refreshToken) throw new AuthError("Sign in again.");
  const previous = session;
  try {
    const answer = await call("InitiateAuth", {
      ClientId: config && config.client_id,
      AuthFlow: "REFRESH_TOKEN_AUTH",
      AuthParameters: { REFRESH_TOKEN: previous.refreshToken },
    });
    adopt(answer.AuthenticationResult, previous);
  } catch (error) {
    if (error instanceof AuthError && error.code) {
      // The refresh token is no longer good: signed out elsewhere, or expired.
      session = null;
      save();
      emit();
    }
    throw error;
  }
}

/** A valid access token, refreshed quietly when it is about to expire; null when signed out. */
export async function accessToken({ force = false } = {}) {
  if (!session) return null;
  if (force || session.expiresAt - Date.now() < REFRESH_MARGIN_MS) {
    refreshing = refreshing || refresh().finally(() => { refreshing = null; });
    try {
      await refreshing;
    } catch {
      return session ? session.accessToken : null;
    }
  }
  return session ? session.accessToken : null;
}

/** Sign out here, and end the session's tokens at Cognito (best effort). */
export async function signOut() {
  const token = session && session.accessToken;
  session = null;
  save();
  emit();
  if (token) {
    try {
      await call("GlobalSignOut", { AccessToken: token });
    } catch {
      // Already signed out there, or offline: the tokens here are gone either way.
    }
  }
}

/** Delete the account itself at Cognito (after its data was deleted), then sign out here. */
export async function deleteAccount() {
  const token = await accessToken();
  if (!token) throw new AuthError("Sign in again.");
  await call("DeleteUser", { AccessToken: token });
  session = null;
  save();
  emit();
}
