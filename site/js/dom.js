// Small DOM helpers. Everything that comes from users or photos (file names, plate
// text, server messages) reaches the page through text nodes only: `el` turns string
// children into Text nodes, and no module in this site assigns innerHTML.

/**
 * Create an element.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs] `class`, `text`, `hidden`, `on<event>` handlers,
 *   anything else becomes an attribute (values are never parsed as markup).
 * @param {...(Node|string|number|null|undefined|false)} children strings become text nodes
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = String(value);
    else if (name === "text") node.textContent = String(value);
    else if (name === "hidden") node.hidden = Boolean(value);
    else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    } else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** Append children, strings as text nodes; falsy children are skipped. */
export function append(parent, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Inline SVG icon from a path list (our own constants, never user data). */
export function icon(paths, className = "") {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", className ? `icon ${className}` : "icon");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of paths) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

export const ICONS = {
  photo: ["M4 6a2 2 0 0 1 2-2h12a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2z", "m4 16 5-5 4 4 2-2 5 5", "M15.5 8.5h.01"],
  close: ["M6 6l12 12M18 6 6 18"],
  alert: ["M12 8v5m0 3h.01", "M10.3 3.9 2.4 18a2 2 0 0 0 1.7 3h15.8a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z"],
};

/** 1536000 -> "1.5 MB" */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** 0.934 -> "93%" */
export function formatPercent(ratio) {
  if (typeof ratio !== "number" || !Number.isFinite(ratio)) return "–";
  return `${Math.round(Math.max(0, Math.min(1, ratio)) * 100)}%`;
}

/** ISO date or epoch ms -> "14:05" today, or "3 Mar, 14:05" on another day. */
export function formatWhen(value) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  const time = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (date.toDateString() === new Date().toDateString()) return time;
  return `${date.toLocaleDateString(undefined, { day: "numeric", month: "short" })}, ${time}`;
}

/** Plates are shown the way the API returns them; this only guards against non-strings. */
export function plateText(value) {
  return typeof value === "string" && value.trim() ? value.trim() : "–";
}
