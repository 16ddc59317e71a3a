// Rendering: list rows and the result view. Pure functions of an entry (and its record);
// main.js decides when to call them. All user and photo data goes in as text.

import { ICONS, el, formatBytes, formatPercent, formatWhen, icon, plateText } from "./dom.js";

const TERMINAL = new Set(["DONE", "NO_PLATE", "REJECTED", "FAILED"]);

export function isTerminal(status) {
  return TERMINAL.has(status);
}

/**
 * What to say about an entry right now.
 * @returns {{label: string, tone: string, busy: boolean}}
 *   tone: neutral | progress | success | warning | danger; busy: work is ongoing
 */
export function describe(entry) {
  switch (entry.phase) {
    case "queued":
      return { label: "Waiting", tone: "neutral", busy: true };
    case "uploading":
      return { label: "Uploading", tone: "progress", busy: true };
    case "error":
      return { label: "Not uploaded", tone: "danger", busy: false };
    case "interrupted":
      return { label: "Interrupted", tone: "warning", busy: false };
    default:
      break;
  }
  switch (entry.status) {
    case "DONE":
      return { label: "Done", tone: "success", busy: false };
    case "NO_PLATE":
      return { label: "No plate", tone: "warning", busy: false };
    case "REJECTED":
      return { label: "Rejected", tone: "danger", busy: false };
    case "FAILED":
      return { label: "Failed", tone: "danger", busy: false };
    default:
      return entry.stale
        ? { label: "Still processing", tone: "warning", busy: false }
        : { label: "Processing", tone: "progress", busy: true };
  }
}

function badge(entry) {
  const { label, tone } = describe(entry);
  return el("span", { class: `badge badge--${tone}`, "data-status": entry.status || entry.phase }, label);
}

/** A progress bar: determinate while uploading, indeterminate while processing. */
function progressBar(entry) {
  const { busy } = describe(entry);
  if (!busy) return null;
  const uploading = entry.phase === "uploading";
  const percent = Math.round((entry.progress || 0) * 100);
  const bar = el("div", {
    class: `progress${uploading ? "" : " progress--indeterminate"}`,
    role: "progressbar",
    "aria-label": `${uploading ? "Upload" : "Processing"} progress of ${entry.fileName}`,
    "aria-valuemin": 0,
    "aria-valuemax": 100,
    "aria-valuenow": uploading ? percent : undefined,
    "aria-valuetext": uploading ? `${percent}%` : "Processing",
  });
  const fill = el("div", { class: "progress__fill" });
  if (uploading) fill.style.width = `${percent}%`;
  bar.append(fill);
  return bar;
}

function thumbnail(url) {
  const frame = el("span", { class: "thumb" });
  if (url) {
    const img = el("img", { class: "thumb__img", src: url, alt: "", loading: "lazy", decoding: "async" });
    // An expired short-lived URL must not leave a broken-image icon behind.
    img.addEventListener("error", () => img.replaceWith(icon(ICONS.photo, "thumb__icon")));
    frame.append(img);
  } else {
    frame.append(icon(ICONS.photo, "thumb__icon"));
  }
  return frame;
}

/** The inside of a list row's button; rebuilt on every change, the button itself stays. */
export function fillRow(button, entry) {
  const { busy } = describe(entry);
  const meta = el("span", { class: "entry__meta" }, badge(entry));
  if (entry.plate) meta.append(el("span", { class: "entry__plate" }, entry.plate));
  else if (entry.phase === "uploading") meta.append(el("span", {}, `${Math.round((entry.progress || 0) * 100)}%`));
  else meta.append(el("span", { class: "entry__when" }, formatWhen(entry.createdAt)));

  button.replaceChildren(
    thumbnail(entry.thumbUrl),
    el("span", { class: "entry__body" },
      el("span", { class: "entry__name", title: entry.fileName }, entry.fileName),
      meta,
      busy ? progressBar(entry) : null),
  );
}

/** A row for the recent list or the search results. */
export function createRow(entry, onSelect) {
  const button = el("button", { class: "entry", type: "button", "data-id": entry.id });
  button.addEventListener("click", () => onSelect(entry.id));
  fillRow(button, entry);
  return el("li", { class: "entries__item" }, button);
}

/** Plate boxes over the photo: absolutely positioned, in percent of the displayed image. */
function plateBoxes(plates) {
  return plates
    .map((plate, index) => ({ plate, index }))
    .filter(({ plate }) => plate && plate.box)
    .map(({ plate, index }) => {
      const clamp = (value) => Math.max(0, Math.min(1, Number(value) || 0));
      const left = clamp(plate.box.left);
      const top = clamp(plate.box.top);
      const width = Math.min(clamp(plate.box.width), 1 - left);
      const height = Math.min(clamp(plate.box.height), 1 - top);
      const box = el("div", { class: "plate-box", "data-index": index, "aria-hidden": "true" },
        el("span", { class: "plate-box__tag" }, `${index + 1} · ${plateText(plate.text)}`));
      box.style.left = `${left * 100}%`;
      box.style.top = `${top * 100}%`;
      box.style.width = `${width * 100}%`;
      box.style.height = `${height * 100}%`;
      // Near the top edge the tag goes under the box instead of off the photo.
      if (top < 0.08) box.classList.add("plate-box--tag-below");
      return box;
    });
}

function photo(entry, record) {
  const url = entry.blobUrl || (record && record.image_url) || null;
  const plates = (record && Array.isArray(record.plates)) ? record.plates : [];
  const figure = el("figure", { class: "photo" });
  if (!url) {
    figure.append(el("div", { class: "photo__placeholder" }, icon(ICONS.photo, "photo__placeholder-icon"),
      el("span", {}, "The photo is not available.")));
    return figure;
  }
  const count = plates.filter((plate) => plate && plate.box).length;
  const alt = count
    ? `${entry.fileName}, with ${count} plate${count === 1 ? "" : "s"} outlined`
    : entry.fileName;
  const img = el("img", { class: "photo__img", src: url, alt });
  img.addEventListener("error", () => {
    // A rejected file is often not an image at all; anything else most likely outlived its
    // short-lived URL (selecting it again fetches a fresh one).
    const why = record && record.status === "REJECTED"
      ? "This file cannot be displayed as an image."
      : "The photo could not be loaded. Select it again to retry.";
    figure.replaceChildren(el("div", { class: "photo__placeholder" }, icon(ICONS.photo, "photo__placeholder-icon"),
      el("span", {}, why)));
  });
  const stage = el("div", { class: "photo__stage" }, img, ...plateBoxes(plates));
  figure.append(stage);
  return figure;
}

function alertBox(title, message, detail) {
  return el("div", { class: "alert", role: "alert" },
    icon(ICONS.alert, "alert__icon"),
    el("div", {},
      el("p", { class: "alert__title" }, title),
      el("p", { class: "alert__message" }, message),
      detail ? el("p", { class: "alert__detail" }, detail) : null));
}

function confidenceMeter(confidence) {
  const meter = el("span", { class: "meter", "aria-hidden": "true" });
  const fill = el("span", { class: "meter__fill" });
  const ratio = Math.max(0, Math.min(1, Number(confidence) || 0));
  fill.style.width = `${ratio * 100}%`;
  // Colour says "how sure" at a glance; the number beside it says it exactly.
  fill.classList.add(ratio >= 0.85 ? "meter__fill--high" : ratio >= 0.6 ? "meter__fill--mid" : "meter__fill--low");
  meter.append(fill);
  return meter;
}

function regionFormat(item) {
  const parts = [item.region, item.format].filter((part) => typeof part === "string" && part);
  // A country whose format is named after it ("BR", "BR") is said once.
  if (parts.length === 2 && parts[0] === parts[1]) parts.pop();
  return parts.length ? parts.join(" · ") : "Unknown format";
}

function plateCard(plate, index, total) {
  const candidates = (Array.isArray(plate.candidates) ? plate.candidates : [])
    .filter((candidate) => candidate && candidate.text !== plate.text);
  const card = el("article", { class: "plate", "data-index": index, "aria-label": `Plate ${index + 1} of ${total}` },
    el("div", { class: "plate__head" },
      el("span", { class: "plate__index", "aria-hidden": "true" }, String(index + 1)),
      el("p", { class: "plate__text plate-text" }, plateText(plate.text))),
    el("dl", { class: "facts" },
      el("div", { class: "facts__item" },
        el("dt", {}, "Confidence"),
        el("dd", { class: "facts__confidence" }, confidenceMeter(plate.confidence),
          el("span", { class: "plate__confidence" }, formatPercent(plate.confidence)))),
      el("div", { class: "facts__item" },
        el("dt", {}, "Region / format"),
        el("dd", { class: "plate__format" }, regionFormat(plate)))),
  );
  if (candidates.length) {
    card.append(el("div", { class: "candidates" },
      el("p", { class: "candidates__title", id: `candidates-${index}` }, "Other readings considered"),
      el("ul", { class: "candidates__list", "aria-labelledby": `candidates-${index}` },
        ...candidates.map((candidate) => el("li", { class: "candidates__item" },
          el("span", { class: "candidates__text" }, plateText(candidate.text)),
          el("span", { class: "candidates__format" }, regionFormat(candidate)),
          el("span", { class: "candidates__confidence" }, formatPercent(candidate.confidence)))))));
  }
  return card;
}

function details(entry, record) {
  const rows = [];
  if (record && record.width && record.height) rows.push(["Image", `${record.width} × ${record.height} px`]);
  if (entry.size) rows.push(["File size", formatBytes(entry.size)]);
  if (record && record.engine) rows.push(["Engine", String(record.engine)]);
  const timings = record && record.timings_ms && typeof record.timings_ms === "object" ? record.timings_ms : null;
  if (timings) {
    const values = Object.values(timings).filter((value) => typeof value === "number");
    if (values.length) {
      const total = values.reduce((sum, value) => sum + value, 0);
      const parts = Object.entries(timings)
        .filter(([, value]) => typeof value === "number")
        .map(([stage, value]) => `${stage.replaceAll("_", " ")} ${Math.round(value)}`);
      rows.push(["Processing", `${Math.round(total)} ms (${parts.join(", ")})`]);
    }
  }
  if (entry.uploadId) rows.push(["Upload id", entry.uploadId]);
  if (!rows.length) return null;
  return el("details", { class: "details" },
    el("summary", {}, "Details"),
    el("dl", { class: "details__list" },
      ...rows.map(([term, value]) => el("div", { class: "details__row" }, el("dt", {}, term), el("dd", {}, value)))));
}

/** The result view of one photo. */
export function renderResult(entry, record) {
  const status = entry.status || (record && record.status) || "";
  const described = describe(entry);
  const head = el("header", { class: "result__head" },
    el("div", { class: "result__titles" },
      el("h2", { class: "result__title", id: "result-title" }, entry.fileName),
      el("p", { class: "result__sub" }, badge(entry),
        el("span", {}, [formatWhen(entry.createdAt), entry.size ? formatBytes(entry.size) : ""].filter(Boolean).join(" · ")))));

  const body = [];
  if (entry.phase === "error") {
    body.push(alertBox("The photo was not uploaded", entry.message || "Something went wrong."));
  } else if (entry.phase === "interrupted") {
    body.push(alertBox("The upload was interrupted", entry.message || "The page was closed or reloaded before the upload finished. Upload the photo again."));
  } else if (status === "REJECTED" || status === "FAILED") {
    const error = (record && record.error) || {};
    body.push(alertBox(status === "REJECTED" ? "This photo was rejected" : "Processing failed",
      typeof error.message === "string" && error.message ? error.message : "No reason was given.",
      typeof error.type === "string" && error.type ? `Reason code: ${error.type}` : null));
  } else if (described.busy) {
    const bar = progressBar(entry);
    body.push(el("div", { class: "working" },
      el("p", { class: "working__text" }, entry.phase === "uploading" ? "Uploading the photo…" : "Reading the plates…"),
      bar));
  } else if (entry.stale) {
    body.push(alertBox("Still processing", "This is taking longer than usual. The result will appear here when you select the photo again."));
  }
  if (entry.pollError && described.busy) {
    body.push(el("p", { class: "result__note" }, entry.pollError));
  }

  const plates = record && Array.isArray(record.plates) ? record.plates : [];
  let platesSection = null;
  if (status === "DONE" && plates.length) {
    platesSection = el("section", { class: "plates", "aria-label": "Plates found" },
      ...plates.map((plate, index) => plateCard(plate, index, plates.length)));
  } else if (status === "NO_PLATE" || (status === "DONE" && !plates.length)) {
    platesSection = el("div", { class: "notice-box" },
      el("p", { class: "notice-box__title" }, "No plate could be read in this photo."),
      el("p", {}, "Plates read best when they are sharp, well lit, roughly level and fill a fair part of the frame."));
  }

  const view = el("div", { class: "result__view", "data-status": status || entry.phase },
    head,
    ...body,
    el("div", { class: "result__grid" },
      photo(entry, record),
      el("div", { class: "result__facts" }, platesSection, details(entry, record))));
  linkCardsToBoxes(view);
  return view;
}

/** Pointing at a plate's card highlights its box on the photo, and the other way round. */
function linkCardsToBoxes(view) {
  const highlight = (index, on) => {
    for (const node of view.querySelectorAll(`.plate[data-index="${index}"], .plate-box[data-index="${index}"]`)) {
      node.classList.toggle("is-active", on);
    }
  };
  for (const card of view.querySelectorAll(".plate")) {
    const index = card.dataset.index;
    card.addEventListener("mouseenter", () => highlight(index, true));
    card.addEventListener("mouseleave", () => highlight(index, false));
  }
}
