// The page's controller: takes files in, uploads them, polls for results, keeps the recent
// list, searches, and decides what the result view shows.

import { ApiError, base, createUpload, getResult, searchPlates, sendToStorage } from "./api.js";
import { ICONS, el, icon } from "./dom.js";
import { clearHistory, loadHistory, saveHistory } from "./history.js";
import { checkFile, MAX_BYTES } from "./validate.js";
import { createRow, describe, fillRow, isTerminal, renderResult } from "./views.js";

const PARALLEL_UPLOADS = 3;
// Polling backoff: quick at first (a photo usually takes a second or two), then slower,
// with jitter so many tabs don't poll in lockstep; give up after a while.
const POLL_FIRST_MS = 600;
const POLL_FACTOR = 1.6;
const POLL_MAX_MS = 8000;
const POLL_GIVE_UP_MS = 5 * 60 * 1000;

const $ = (id) => document.getElementById(id);
const ui = {
  dropzone: $("dropzone"),
  fileInput: $("file-input"),
  chooseButton: $("choose-button"),
  notices: $("notices"),
  recentList: $("recent-list"),
  recentEmpty: $("recent-empty"),
  historyClear: $("history-clear"),
  result: $("result"),
  resultEmpty: $("result-empty"),
  searchForm: $("search-form"),
  searchInput: $("search-input"),
  searchPanel: $("search-panel"),
  searchStatus: $("search-status"),
  searchResults: $("search-results"),
  searchClear: $("search-clear"),
  announcer: $("announcer"),
};

/** Newest first. Runtime fields (file, blobUrl, record, progress, ...) live beside the saved ones. */
let entries = [];
/** Entries opened from search results that are not in the recent list. */
const transient = new Map();
const rows = new Map(); // entry id -> list row button
let selectedId = null;
const waiting = []; // entries queued for upload
let activeUploads = 0;

function findEntry(id) {
  return entries.find((entry) => entry.id === id) || transient.get(id) || null;
}

function newId() {
  return (crypto.randomUUID && crypto.randomUUID()) || `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

function announce(message) {
  ui.announcer.textContent = message;
}

/* ---------- notices (files refused in the page) ---------- */

const MAX_NOTICES = 6;

/** A dismissible message in the upload panel; `fileName` is null for page-wide problems. */
function notice(fileName, reason) {
  // Keep the newest few: dropping a whole folder of the wrong files shouldn't bury the page.
  while (ui.notices.children.length >= MAX_NOTICES) ui.notices.firstElementChild.remove();
  const text = fileName === null
    ? el("p", { class: "notice__text" }, reason)
    : el("p", { class: "notice__text" }, el("strong", { class: "notice__name" }, fileName), ` ${reason}`);
  const item = el("li", { class: "notice" }, icon(ICONS.alert, "notice__icon"), text);
  const label = fileName === null ? "Dismiss this message" : `Dismiss message about ${fileName}`;
  const dismiss = el("button", { class: "notice__close", type: "button", "aria-label": label },
    icon(ICONS.close));
  dismiss.addEventListener("click", () => item.remove());
  item.append(dismiss);
  ui.notices.append(item);
}

/* ---------- list and view updates ---------- */

function persist() {
  saveHistory(entries);
}

function renderRecent() {
  ui.recentEmpty.hidden = entries.length > 0;
  ui.historyClear.hidden = entries.length === 0;
  const items = entries.map((entry) => {
    let button = rows.get(entry.id);
    if (!button) {
      const li = createRow(entry, select);
      button = li.querySelector("button");
      rows.set(entry.id, button);
    }
    button.setAttribute("aria-current", entry.id === selectedId ? "true" : "false");
    return button.parentElement;
  });
  ui.recentList.replaceChildren(...items);
}

/** Something about `entry` changed: refresh its row, and the result view if it shows it. */
function changed(entry, { save = true, view = true } = {}) {
  if (save && !transient.has(entry.id)) persist();
  const button = rows.get(entry.id);
  if (button) fillRow(button, entry);
  if (entry.id === selectedId) {
    if (view) showResult(entry);
    else updateViewProgress(entry);
  }
}

/** Progress ticks only move the bar, so the photo isn't rebuilt many times a second. */
function updateViewProgress(entry) {
  const bar = ui.result.querySelector(".working .progress");
  if (!bar) return showResult(entry);
  const percent = Math.round((entry.progress || 0) * 100);
  bar.setAttribute("aria-valuenow", String(percent));
  bar.setAttribute("aria-valuetext", `${percent}%`);
  bar.querySelector(".progress__fill").style.width = `${percent}%`;
}

function showResult(entry) {
  ui.result.replaceChildren(renderResult(entry, entry.record || null));
}

function showEmptyResult() {
  ui.result.replaceChildren(ui.resultEmpty);
}

function narrowLayout() {
  return window.matchMedia("(max-width: 899px)").matches;
}

/** Open an entry in the result view; fetch its record again when it is finished. */
function select(id) {
  const entry = findEntry(id);
  if (!entry) return;
  selectedId = id;
  for (const [rowId, button] of rows) button.setAttribute("aria-current", rowId === id ? "true" : "false");
  for (const button of ui.searchResults.querySelectorAll("button.entry")) {
    button.setAttribute("aria-current", button.dataset.id === id ? "true" : "false");
  }
  showResult(entry);
  // Image URLs are short-lived: a finished record is fetched again for a fresh one.
  if (entry.uploadId && !entry.polling && entry.phase === "uploaded" && (!entry.record || !entry.blobUrl)) {
    refreshRecord(entry);
  }
  // Bring the result into view when it is out of sight: below the lists on a phone, or
  // scrolled away above a long recent list on a desktop.
  const top = ui.result.getBoundingClientRect().top;
  if (narrowLayout() || top < 0 || top > window.innerHeight * 0.6) {
    ui.result.scrollIntoView({ behavior: "smooth", block: "start" });
  }
  if (narrowLayout()) ui.result.focus({ preventScroll: true });
}

async function refreshRecord(entry) {
  try {
    const record = await getResult(entry.uploadId);
    if (!record) return;
    applyRecord(entry, record);
    if (entry.stale && !isTerminal(record.status)) {
      entry.stale = false;
      poll(entry);
    }
  } catch (error) {
    entry.pollError = error instanceof ApiError ? error.message : "Could not load the result.";
  }
  changed(entry);
}

function applyRecord(entry, record) {
  const previous = entry.status;
  entry.record = record;
  entry.status = typeof record.status === "string" ? record.status : entry.status;
  const top = Array.isArray(record.plates) && record.plates[0] ? record.plates[0].text : null;
  entry.plate = typeof top === "string" && top ? top : undefined;
  if (!entry.blobUrl && typeof record.image_url === "string") entry.thumbUrl = record.image_url;
  if (previous !== entry.status && isTerminal(entry.status)) {
    const { label } = describe(entry);
    announce(`${entry.fileName}: ${label}${entry.plate ? `, plate ${entry.plate}` : ""}.`);
  }
}

/* ---------- uploading ---------- */

function addFiles(fileList) {
  const files = Array.from(fileList || []);
  let first = null;
  for (const file of files) {
    const check = checkFile(file, MAX_BYTES);
    if (!check.ok) {
      notice(file.name, check.reason);
      continue;
    }
    const entry = {
      id: newId(),
      fileName: file.name,
      size: file.size,
      createdAt: Date.now(),
      phase: "queued",
      progress: 0,
      file,
      contentType: check.contentType,
      blobUrl: URL.createObjectURL(file),
    };
    entry.thumbUrl = entry.blobUrl;
    entries.unshift(entry);
    waiting.push(entry);
    first = first || entry;
  }
  if (!first) return;
  renderRecent();
  persist();
  select(first.id);
  pump();
}

function pump() {
  while (activeUploads < PARALLEL_UPLOADS && waiting.length) {
    const entry = waiting.shift();
    activeUploads += 1;
    upload(entry).finally(() => {
      activeUploads -= 1;
      pump();
    });
  }
}

async function upload(entry) {
  entry.phase = "uploading";
  changed(entry);
  try {
    const target = await createUpload({ fileName: entry.fileName, contentType: entry.contentType, size: entry.size });
    entry.uploadId = target.upload_id;
    persist();
    if (typeof target.max_bytes === "number" && entry.size > target.max_bytes) {
      throw new ApiError(`The file is larger than the ${Math.round(target.max_bytes / (1024 * 1024))} MB the service accepts.`);
    }
    let lastPercent = -1;
    await sendToStorage(target, entry.file, (ratio) => {
      entry.progress = ratio;
      const percent = Math.round(ratio * 100);
      if (percent === lastPercent) return;
      lastPercent = percent;
      changed(entry, { save: false, view: false });
    });
    entry.phase = "uploaded";
    entry.file = null; // the bytes are in storage now; the blob URL keeps the preview
    changed(entry);
    poll(entry);
  } catch (error) {
    entry.phase = "error";
    entry.message = error instanceof ApiError ? error.message : "Something went wrong while uploading.";
    announce(`${entry.fileName}: not uploaded. ${entry.message}`);
    changed(entry);
  }
}

/* ---------- polling ---------- */

function poll(entry) {
  if (entry.polling) return;
  entry.polling = true;
  const started = Date.now();
  let delay = POLL_FIRST_MS;

  const tick = async () => {
    try {
      const record = await getResult(entry.uploadId);
      entry.pollError = undefined;
      if (record) applyRecord(entry, record);
      if (record && isTerminal(record.status)) {
        entry.polling = false;
        changed(entry);
        return;
      }
    } catch (error) {
      // Keep polling through blips; say so, without alarming, while it lasts.
      entry.pollError = `Waiting for the service… (${error instanceof ApiError ? error.message : "no answer"})`;
    }
    changed(entry);
    if (Date.now() - started > POLL_GIVE_UP_MS) {
      entry.polling = false;
      entry.stale = true;
      changed(entry);
      return;
    }
    delay = Math.min(delay * POLL_FACTOR, POLL_MAX_MS);
    setTimeout(tick, delay * (0.8 + Math.random() * 0.4));
  };
  setTimeout(tick, delay);
}

/* ---------- search ---------- */

function searchEntry(record) {
  // A search hit that is also in the recent list opens that entry (and its live state).
  const known = entries.find((entry) => entry.uploadId === record.upload_id);
  if (known) return known;
  const id = `search:${record.upload_id}`;
  let entry = transient.get(id);
  if (!entry) {
    entry = {
      id,
      uploadId: record.upload_id,
      fileName: typeof record.file_name === "string" && record.file_name ? record.file_name : "Untitled photo",
      size: typeof record.size === "number" ? record.size : undefined,
      createdAt: record.uploaded_at || record.processed_at,
      phase: "uploaded",
    };
    transient.set(id, entry);
  }
  applyRecord(entry, record);
  return entry;
}

async function search(event) {
  event.preventDefault();
  // Plates are stored without spaces or dashes, upper case; accept them typed any way.
  const query = ui.searchInput.value.toUpperCase().replace(/[\s-]+/g, "");
  ui.searchPanel.hidden = false;
  ui.searchResults.replaceChildren();
  if (!query) {
    ui.searchStatus.textContent = "Type a plate to search for, e.g. ABC1234, or ABC* for every plate starting with ABC.";
    return;
  }
  ui.searchStatus.textContent = `Searching for ${query}…`;
  try {
    const records = await searchPlates(query);
    const hits = records.filter((record) => record && typeof record.upload_id === "string").map(searchEntry);
    ui.searchStatus.textContent = hits.length
      ? `${hits.length} photo${hits.length === 1 ? "" : "s"} with a plate matching ${query}.`
      : `No photos with a plate matching ${query}.${query.includes("*") ? "" : " Use * for a partial match, e.g. " + query.slice(0, 3) + "*."}`;
    ui.searchResults.replaceChildren(...hits.map((entry) => {
      const li = createRow(entry, select);
      li.querySelector("button").setAttribute("aria-current", entry.id === selectedId ? "true" : "false");
      return li;
    }));
  } catch (error) {
    ui.searchStatus.textContent = error instanceof ApiError ? error.message : "The search failed. Try again.";
  }
}

function closeSearch() {
  ui.searchPanel.hidden = true;
  ui.searchResults.replaceChildren();
  ui.searchInput.value = "";
  ui.searchInput.focus();
}

/* ---------- wiring ---------- */

function wireDropzone() {
  ui.chooseButton.addEventListener("click", () => ui.fileInput.click());
  ui.fileInput.addEventListener("change", () => {
    addFiles(ui.fileInput.files);
    ui.fileInput.value = ""; // choosing the same file again should upload it again
  });
  // A click anywhere on the drop zone opens the picker too (the button is the keyboard way).
  // The input's own click bubbles here as well: ignore it, and the button's.
  ui.dropzone.addEventListener("click", (event) => {
    if (!event.target.closest("button, input")) ui.fileInput.click();
  });

  // Files dropped anywhere on the page are taken; otherwise the browser would navigate away
  // to the dropped file. The counter copes with dragenter/dragleave firing on every child.
  let depth = 0;
  const hasFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");
  document.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    ui.dropzone.classList.add("is-dragging");
  });
  document.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) ui.dropzone.classList.remove("is-dragging");
  });
  document.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    ui.dropzone.classList.remove("is-dragging");
    addFiles(event.dataTransfer.files);
  });
}

/** Up/Down arrows move between rows of a list, Home/End to its ends. */
function wireListKeys(list) {
  list.addEventListener("keydown", (event) => {
    const buttons = Array.from(list.querySelectorAll("button.entry"));
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    const next = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: buttons.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    buttons[Math.max(0, Math.min(buttons.length - 1, next))].focus();
  });
}

function restore() {
  entries = loadHistory().map((saved) => {
    const entry = { ...saved, progress: 0 };
    // An upload cut off by the reload cannot resume: the File object is gone.
    if (entry.phase === "queued" || entry.phase === "uploading") {
      entry.phase = "interrupted";
      entry.message = "The page was closed or reloaded before the upload finished. Upload the photo again.";
    }
    return entry;
  });
  renderRecent();
  persist();
  // Fetch records again: fresh statuses and short-lived image URLs for the thumbnails.
  // A couple at a time, oldest unfinished ones polled until they finish.
  const pending = entries.filter((entry) => entry.uploadId && entry.phase === "uploaded");
  const next = async () => {
    const entry = pending.shift();
    if (!entry) return;
    if (isTerminal(entry.status)) await refreshRecord(entry);
    else poll(entry);
    await next();
  };
  next();
  next();
}

function init() {
  wireDropzone();
  wireListKeys(ui.recentList);
  wireListKeys(ui.searchResults);
  ui.searchForm.addEventListener("submit", search);
  ui.searchClear.addEventListener("click", closeSearch);
  ui.historyClear.addEventListener("click", () => {
    entries = entries.filter((entry) => describe(entry).busy); // never drop work in flight
    for (const id of rows.keys()) if (!entries.some((entry) => entry.id === id)) rows.delete(id);
    if (!findEntry(selectedId)) {
      selectedId = null;
      showEmptyResult();
    }
    if (entries.length) persist();
    else clearHistory();
    renderRecent();
  });
  // Say at once when the page cannot reach its configuration, not at the first upload.
  base().catch((error) => notice(null, error.message));
  restore();
  document.documentElement.classList.add("js-ready");
}

init();
