// Recent uploads kept in localStorage so the list survives a reload. Only small facts are
// stored (ids, names, statuses); photos and full records are fetched again from the API.
// One list per account: someone else signing in on the same browser sees their own.

let KEY = "platescan.recent.v2.signed-out";

/** Keep the list of the account `sub` from now on. */
export function useHistoryOf(sub) {
  KEY = `platescan.recent.v2.${sub}`;
}
const LIMIT = 25;

/**
 * @typedef {object} SavedEntry
 * @property {string} id          local id, stable across reloads
 * @property {string} [uploadId]  issued by the API
 * @property {string} fileName
 * @property {number} size
 * @property {number} createdAt   epoch ms
 * @property {string} phase       queued | uploading | uploaded | interrupted | error
 * @property {string} [status]    the record's status once known
 * @property {string} [plate]     top plate text, for the list
 * @property {string} [message]   why it stopped, when it did in the page
 */

/** @returns {SavedEntry[]} newest first; unreadable storage gives an empty list. */
export function loadHistory() {
  try {
    const parsed = JSON.parse(localStorage.getItem(KEY) || "[]");
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((item) => item && typeof item.id === "string" && typeof item.fileName === "string");
  } catch {
    return [];
  }
}

/** @param {SavedEntry[]} entries newest first */
export function saveHistory(entries) {
  const slim = entries.slice(0, LIMIT).map((entry) => ({
    id: entry.id,
    uploadId: entry.uploadId,
    fileName: entry.fileName,
    size: entry.size,
    createdAt: entry.createdAt,
    phase: entry.phase,
    status: entry.status,
    plate: entry.plate,
    message: entry.message,
  }));
  try {
    localStorage.setItem(KEY, JSON.stringify(slim));
  } catch {
    // Private mode or a full quota: the list simply won't survive a reload.
  }
}

export function clearHistory() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // nothing to clear
  }
}
