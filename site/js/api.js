// The HTTP API (docs/contracts.md). The base URL comes from config.json next to the page,
// so the same files work behind CloudFront and on the local server. Every call carries the
// signed-in user's access token.

import { accessToken } from "./auth.js";

/** An error whose message is fit to show to the user. */
export class ApiError extends Error {
  /** @param {string} message @param {number} [status] */
  constructor(message, status = 0) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

let apiBase = null;
let siteConfig = null;

/** config.json as read by base(): `auth` holds the user pool's settings. */
export function loadedConfig() {
  return siteConfig;
}

/** Read config.json once; every call below waits for it. Exported so the page can check early. */
export async function base() {
  if (apiBase) return apiBase;
  let config;
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    config = await response.json();
  } catch {
    throw new ApiError("The site could not load its configuration (config.json). Try reloading.");
  }
  if (!config || typeof config.api_url !== "string" || !config.api_url) {
    throw new ApiError("The site configuration has no api_url.");
  }
  apiBase = config.api_url.replace(/\/+$/, "");
  siteConfig = config;
  return apiBase;
}

/** fetch with the access token; a 401 gets one quiet refresh and one more try. */
async function authorizedFetch(url, options = {}) {
  const send = async (token) => fetch(url, {
    ...options,
    headers: { ...(options.headers || {}), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  });
  let token = await accessToken();
  if (!token) throw new ApiError("Sign in to use the service.", 401);
  let response = await send(token);
  if (response.status === 401) {
    token = await accessToken({ force: true });
    if (!token) throw new ApiError("Your session has ended. Sign in again.", 401);
    response = await send(token);
  }
  return response;
}

/** fetch + JSON, turning 4xx/5xx `{"message"}` bodies and network errors into ApiError. */
async function requestJson(path, options = {}) {
  const url = `${await base()}${path}`;
  let response;
  try {
    response = await authorizedFetch(url, {
      ...options,
      headers: { Accept: "application/json", ...(options.headers || {}) },
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError("Could not reach the service. Check your connection and try again.");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && typeof body.message === "string" && body.message
      ? body.message
      : `The service answered ${response.status}.`;
    throw new ApiError(message, response.status);
  }
  return body;
}

/**
 * Ask for a presigned POST for one file.
 * @returns {Promise<{upload_id: string, key: string, url: string, fields: Record<string,string>, expires_in: number, max_bytes: number}>}
 */
export function createUpload({ fileName, contentType, size }) {
  return requestJson("/uploads", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ file_name: fileName, content_type: contentType, size }),
  });
}

/**
 * Send the file to the presigned POST target. XMLHttpRequest rather than fetch because
 * only XHR reports upload progress.
 * @param {{url: string, fields: Record<string,string>}} target
 * @param {File} file
 * @param {(ratio: number) => void} onProgress
 */
export function sendToStorage(target, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    // S3 requires the policy fields first and the file last.
    for (const [name, value] of Object.entries(target.fields || {})) form.append(name, value);
    form.append("file", file);

    const xhr = new XMLHttpRequest();
    xhr.open("POST", target.url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(new ApiError(storageMessage(xhr), xhr.status));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError("The upload was interrupted. Check your connection and try again.")));
    xhr.addEventListener("timeout", () => reject(new ApiError("The upload took too long and was stopped.")));
    xhr.send(form);
  });
}

/** S3 answers errors in XML (<Error><Message>); the local stand-in may answer JSON. */
function storageMessage(xhr) {
  const text = xhr.responseText || "";
  try {
    const body = JSON.parse(text);
    if (body && typeof body.message === "string") return body.message;
  } catch {
    // not JSON: try XML below
  }
  try {
    const xml = new DOMParser().parseFromString(text, "application/xml");
    const message = xml.querySelector("Message");
    if (message && message.textContent) return `Storage refused the file: ${message.textContent}`;
  } catch {
    // fall through to the generic message
  }
  return `Storage refused the file (HTTP ${xhr.status}).`;
}

/** The record for one upload, or null while it is not processed yet (404). */
export async function getResult(uploadId) {
  try {
    return await requestJson(`/results/${encodeURIComponent(uploadId)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/**
 * Records whose plate matches `query` (exact, or with * wildcards), and whether that is all
 * of them: `complete` is false when the API stopped before it had read every record.
 */
export async function searchPlates(query) {
  const body = await requestJson(`/results?plate=${encodeURIComponent(query)}`);
  return {
    items: Array.isArray(body && body.items) ? body.items : [],
    complete: !(body && body.complete === false),
  };
}

/** Delete one upload: its photo and its record. */
export async function deleteResult(uploadId) {
  await requestJson(`/results/${encodeURIComponent(uploadId)}`, { method: "DELETE" });
}

/** Delete everything of the signed-in user; resolves to how many uploads were deleted. */
export async function deleteMe() {
  const body = await requestJson("/me", { method: "DELETE" });
  return body && typeof body.deleted === "number" ? body.deleted : 0;
}

/** A file the API answers at `path` (an export), as a Blob. */
async function fetchFile(path) {
  let response;
  try {
    response = await authorizedFetch(`${await base()}${path}`);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError("Could not reach the service. Check your connection and try again.");
  }
  if (!response.ok) throw new ApiError(`The export failed (HTTP ${response.status}).`, response.status);
  return response.blob();
}

/** The user's records as a file: "json" or "csv". */
export function exportData(format) {
  return fetchFile(`/me/export?format=${encodeURIComponent(format)}`);
}

/* ---------- watchlist, alerts, review ---------- */

/** The user's watchlist entries. */
export async function listWatchlist() {
  const body = await requestJson("/watchlist");
  return Array.isArray(body && body.items) ? body.items : [];
}

/** Add (or replace: the same plate and mode) an entry; resolves to the entry kept. */
export function addWatchEntry({ plate, label, note, mode }) {
  return requestJson("/watchlist", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ plate, label, note, mode }),
  });
}

export async function deleteWatchEntry(entryId) {
  await requestJson(`/watchlist/${encodeURIComponent(entryId)}`, { method: "DELETE" });
}

/** Add every row of a CSV (plate, label, note, mode); resolves to {imported, new}. */
export function importWatchlist(csvText) {
  return requestJson("/watchlist/import", {
    method: "POST",
    headers: { "Content-Type": "text/csv" },
    body: csvText,
  });
}

/** The watchlist as a CSV file. */
export function exportWatchlist() {
  return fetchFile("/watchlist/export");
}

/** The user's alerts, newest first. */
export async function listAlerts() {
  const body = await requestJson("/alerts");
  return Array.isArray(body && body.items) ? body.items : [];
}

/** The user's readings that wait for a person, newest first. */
export async function listReview() {
  const body = await requestJson("/review");
  return Array.isArray(body && body.items) ? body.items : [];
}

/** Correct plate `index` of an upload; resolves to {record, alerts_raised}. */
export function correctReading(uploadId, text, index = 0) {
  return requestJson(`/results/${encodeURIComponent(uploadId)}/correction`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text, plate_index: index }),
  });
}
