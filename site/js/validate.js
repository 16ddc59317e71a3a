// Checks made in the page before anything is uploaded. They save a round trip and give a
// clear message; the pipeline checks the bytes again, since a name or a MIME type proves
// nothing about the content.

export const MAX_BYTES = 10 * 1024 * 1024;

const TYPES_BY_EXTENSION = { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png" };
const ACCEPTED_TYPES = new Set(["image/jpeg", "image/png"]);

/**
 * @param {File} file
 * @returns {{ok: true, contentType: string} | {ok: false, reason: string}}
 */
export function checkFile(file, maxBytes = MAX_BYTES) {
  const extension = (file.name.split(".").pop() || "").toLowerCase();
  // Some systems give no MIME type (empty string); fall back to the extension then.
  const contentType = file.type || TYPES_BY_EXTENSION[extension] || "";
  if (!ACCEPTED_TYPES.has(contentType)) {
    const type = file.type ? ` (its type is ${file.type})` : "";
    return { ok: false, reason: `is not a JPEG or PNG file${type}. Only JPEG and PNG photos can be read.` };
  }
  if (file.size === 0) return { ok: false, reason: "is empty." };
  if (file.size > maxBytes) {
    const limit = Math.round(maxBytes / (1024 * 1024));
    const size = (file.size / (1024 * 1024)).toFixed(1);
    return { ok: false, reason: `is ${size} MB; photos can be at most ${limit} MB.` };
  }
  return { ok: true, contentType };
}
