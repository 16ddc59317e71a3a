// The page's controller: takes files in, uploads them, polls for results, keeps the recent
// list, searches, and decides what the result view shows.

import {
  ApiError, base, createUpload, deleteMe, deleteResult, exportData, getResult, loadedConfig,
  searchPlates, sendToStorage,
} from "./api.js";
import * as auth from "./auth.js";
import { ICONS, el, icon } from "./dom.js";
import { clearHistory, loadHistory, saveHistory, useHistoryOf } from "./history.js";
import { checkFile, MAX_BYTES } from "./validate.js";
import { createRow, describe, fillRow, isTerminal, renderResult } from "./views.js";
import * as watch from "./watch.js";

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
  authPanel: $("auth-panel"),
  authForm: $("auth-form"),
  authEmail: $("auth-email"),
  authPassword: $("auth-password"),
  authCodeRow: $("auth-code-row"),
  authCode: $("auth-code"),
  authStatus: $("auth-status"),
  signIn: $("sign-in"),
  createAccount: $("create-account"),
  confirmAccount: $("confirm-account"),
  authNewRow: $("auth-new-row"),
  authNewPassword: $("auth-new-password"),
  setPassword: $("set-password"),
  account: $("account"),
  accountEmail: $("account-email"),
  signOut: $("sign-out"),
  uploadPanel: $("upload-panel"),
  recentPanel: $("recent-panel"),
  dataPanel: $("data-panel"),
  dataStatus: $("data-status"),
  exportJson: $("export-json"),
  exportCsv: $("export-csv"),
  deleteMe: $("delete-me"),
  deleteMeConfirm: $("delete-me-confirm"),
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
  const view = renderResult(entry, entry.record || null);
  if (entry.uploadId && entry.phase === "uploaded" && !describe(entry).busy) {
    view.querySelector(".result__head").append(deleteControls(entry));
  }
  if (entry.uploadId && entry.record && ["DONE", "NO_PLATE"].includes(entry.record.status)) {
    attachCorrections(view, entry);
  }
  ui.result.replaceChildren(view);
}

/** Under each plate (or under "no plate"), what a person corrected and a form to correct it. */
function attachCorrections(view, entry) {
  const saved = (result) => {
    // The correction's answer has no photo link: keep the one the view has.
    applyRecord(entry, { ...result.record, image_url: entry.record && entry.record.image_url });
    changed(entry);
  };
  const cards = view.querySelectorAll(".plate[data-index]");
  for (const card of cards) {
    const index = Number(card.getAttribute("data-index"));
    const note = watch.correctionNote(entry.record, index);
    if (note) card.append(note);
    card.append(watch.correctionForm(entry.uploadId, index, saved));
  }
  const none = view.querySelector(".notice-box");
  if (!cards.length && none) {
    const note = watch.correctionNote(entry.record, 0);
    if (note) none.append(note);
    none.append(watch.correctionForm(entry.uploadId, 0, saved));
  }
}

/** "Delete" asks once more before it deletes the photo and its record for good. */
function deleteControls(entry) {
  const ask = el("button", { class: "button button--quiet", type: "button" }, "Delete");
  const really = el("button", { class: "button button--danger", type: "button", hidden: true }, "Delete permanently");
  ask.addEventListener("click", () => {
    ask.hidden = true;
    really.hidden = false;
    really.focus();
  });
  really.addEventListener("click", async () => {
    really.disabled = true;
    try {
      await deleteResult(entry.uploadId);
    } catch (error) {
      really.disabled = false;
      announce(error instanceof ApiError ? error.message : "The photo could not be deleted.");
      notice(entry.fileName, error instanceof ApiError ? error.message : "could not be deleted.");
      return;
    }
    forget(entry);
    announce(`${entry.fileName} and its result were deleted.`);
  });
  return el("div", { class: "result__actions" }, ask, really);
}

/** Drop an entry from the page and the saved list (it was deleted). */
function forget(entry) {
  entries = entries.filter((other) => other.id !== entry.id);
  transient.delete(entry.id);
  rows.delete(entry.id);
  for (const button of ui.searchResults.querySelectorAll("button.entry")) {
    if (button.dataset.id === entry.id) button.parentElement.remove();
  }
  if (selectedId === entry.id) {
    selectedId = null;
    showEmptyResult();
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  }
  persist();
  renderRecent();
}

function showEmptyResult() {
  ui.result.replaceChildren(ui.resultEmpty);
}

function narrowLayout() {
  return window.matchMedia("(max-width: 899px)").matches;
}

/** Name the shown result in the address, so it can be reloaded or kept as a link. */
function linkTo(entry) {
  if (entry.uploadId && entry.id === selectedId) {
    history.replaceState(null, "", `#result=${encodeURIComponent(entry.uploadId)}`);
  }
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
  linkTo(entry);
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
  const fixed = record.correction && record.correction.plate_index === 0 ? record.correction.text : null;
  entry.plate = fixed || (typeof top === "string" && top ? top : undefined);
  if (!entry.blobUrl && typeof record.image_url === "string") entry.thumbUrl = record.image_url;
  if (previous !== entry.status && isTerminal(entry.status)) {
    // Write Result raises alerts right after it writes the record: look now, and again.
    for (const delay of [0, 1500, 5000]) setTimeout(watch.refreshAlerts, delay);
    watch.refreshReview();
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
    linkTo(entry);
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
    const { items, complete } = await searchPlates(query);
    const hits = items.filter((record) => record && typeof record.upload_id === "string").map(searchEntry);
    const found = hits.length
      ? `${hits.length} photo${hits.length === 1 ? "" : "s"} with a plate matching ${query}.`
      : `No photos with a plate matching ${query}.${query.includes("*") ? "" : " Use * for a partial match, e.g. " + query.slice(0, 3) + "*."}`;
    // An incomplete answer is no proof of absence: say so, and how to narrow it.
    ui.searchStatus.textContent = complete
      ? found
      : `${found} More photos may match: type more of the plate to narrow the search.`;
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

/* ---------- accounts ---------- */

function setAuthStatus(message, tone = "") {
  ui.authStatus.textContent = message;
  ui.authStatus.dataset.tone = tone;
}

function credentials() {
  const email = ui.authEmail.value.trim();
  const password = ui.authPassword.value;
  if (!email || !email.includes("@")) {
    setAuthStatus("Enter your email address.", "error");
    ui.authEmail.focus();
    return null;
  }
  if (password.length < 12) {
    setAuthStatus("Enter your password: at least 12 characters.", "error");
    ui.authPassword.focus();
    return null;
  }
  return { email, password };
}

async function busy(button, work) {
  button.disabled = true;
  try {
    await work();
  } catch (error) {
    setAuthStatus(error instanceof auth.AuthError ? error.message : "Something went wrong. Try again.", "error");
  } finally {
    button.disabled = false;
  }
}

function wireAuth() {
  ui.authForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const given = credentials();
    if (!given) return;
    setAuthStatus("Signing in…");
    busy(ui.signIn, async () => {
      if ((await auth.signIn(given.email, given.password)) === "new-password") {
        ui.authNewRow.hidden = false;
        ui.setPassword.hidden = false;
        ui.authNewPassword.focus();
        setAuthStatus("Welcome! Choose your own password to finish signing in.");
        return;
      }
      setAuthStatus("");
    });
  });
  ui.setPassword.addEventListener("click", () => {
    const chosen = ui.authNewPassword.value;
    if (chosen.length < 12) {
      setAuthStatus("Choose a password of at least 12 characters.", "error");
      ui.authNewPassword.focus();
      return;
    }
    busy(ui.setPassword, async () => {
      await auth.setNewPassword(chosen);
      ui.authNewRow.hidden = true;
      ui.setPassword.hidden = true;
      ui.authNewPassword.value = "";
      setAuthStatus("");
    });
  });
  ui.createAccount.addEventListener("click", () => {
    const given = credentials();
    if (!given) return;
    setAuthStatus("Creating your account…");
    busy(ui.createAccount, async () => {
      const ready = await auth.signUp(given.email, given.password);
      if (ready) {
        await auth.signIn(given.email, given.password);
        setAuthStatus("");
        return;
      }
      ui.authCodeRow.hidden = false;
      ui.confirmAccount.hidden = false;
      ui.authCode.focus();
      setAuthStatus(`We sent a confirmation code to ${given.email}.`);
    });
  });
  ui.confirmAccount.addEventListener("click", () => {
    const given = credentials();
    if (!given) return;
    busy(ui.confirmAccount, async () => {
      await auth.confirm(given.email, ui.authCode.value.trim());
      await auth.signIn(given.email, given.password);
      ui.authCodeRow.hidden = true;
      ui.confirmAccount.hidden = true;
      setAuthStatus("");
    });
  });
  ui.signOut.addEventListener("click", () => auth.signOut());
}

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function wireData() {
  for (const [button, format] of [[ui.exportJson, "json"], [ui.exportCsv, "csv"]]) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      ui.dataStatus.textContent = "Preparing your export…";
      try {
        download(await exportData(format), `platescan-export.${format}`);
        ui.dataStatus.textContent = `Your ${format.toUpperCase()} export is downloading.`;
      } catch (error) {
        ui.dataStatus.textContent = error instanceof ApiError ? error.message : "The export failed.";
      } finally {
        button.disabled = false;
      }
    });
  }
  ui.deleteMe.addEventListener("click", () => {
    ui.deleteMe.hidden = true;
    ui.deleteMeConfirm.hidden = false;
    ui.dataStatus.textContent = "This deletes every photo, every result and your account. It cannot be undone.";
    ui.deleteMeConfirm.focus();
  });
  ui.deleteMeConfirm.addEventListener("click", async () => {
    ui.deleteMeConfirm.disabled = true;
    try {
      const count = await deleteMe();
      clearHistory();
      await auth.deleteAccount();
      setAuthStatus(`Your account and ${count} photo${count === 1 ? "" : "s"} were deleted.`);
    } catch (error) {
      ui.dataStatus.textContent = error instanceof ApiError || error instanceof auth.AuthError
        ? error.message : "Deleting failed. Try again.";
    } finally {
      ui.deleteMeConfirm.disabled = false;
      ui.deleteMeConfirm.hidden = true;
      ui.deleteMe.hidden = false;
    }
  });
}

/** A result opened from its link: the caller's own, or "not found" (also for anyone else's). */
async function openLinked() {
  const match = /^#result=([A-Za-z0-9_-]{8,64})$/.exec(location.hash);
  if (!match) return;
  const uploadId = match[1];
  const known = entries.find((entry) => entry.uploadId === uploadId);
  if (known) {
    select(known.id);
    return;
  }
  let record = null;
  try {
    record = await getResult(uploadId);
  } catch (error) {
    notice(null, error instanceof ApiError ? error.message : "The result could not be loaded.");
    return;
  }
  if (!record) {
    ui.result.replaceChildren(el("div", { class: "result__empty" },
      el("h2", { class: "result__empty-title", id: "result-title" }, "Result not found"),
      el("p", {}, "There is no result at this link for your account. It may have been deleted, or belong to someone else.")));
    return;
  }
  select(searchEntry(record).id);
}

let shownFor = undefined;

function applyUser(user) {
  const key = user ? user.sub : null;
  if (key === shownFor) return;
  shownFor = key;
  const signedIn = Boolean(user);
  ui.authPanel.hidden = signedIn;
  for (const node of [ui.uploadPanel, ui.recentPanel, ui.dataPanel, ui.account, ui.searchForm]) node.hidden = !signedIn;
  ui.searchPanel.hidden = true;
  watch.setSignedIn(signedIn);
  entries = [];
  transient.clear();
  rows.clear();
  waiting.length = 0;
  selectedId = null;
  if (!signedIn) {
    renderRecent();
    ui.result.replaceChildren(el("div", { class: "result__empty" },
      el("h2", { class: "result__empty-title", id: "result-title" }, "Sign in to see your photos"),
      el("p", {}, "Results are kept for your account only. Sign in, or create an account, on the left.")));
    return;
  }
  ui.accountEmail.textContent = user.email || "Signed in";
  ui.authPassword.value = "";
  useHistoryOf(user.sub);
  showEmptyResult();
  restore();
  openLinked();
}

function init() {
  wireDropzone();
  wireAuth();
  wireData();
  watch.init();
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
  window.addEventListener("hashchange", () => {
    if (auth.currentUser()) openLinked();
  });
  auth.onChange(applyUser);
  // Say at once when the page cannot reach its configuration, not at the first upload.
  base()
    .then(() => auth.init(loadedConfig().auth))
    .catch((error) => {
      ui.authPanel.hidden = false;
      setAuthStatus(error.message, "error");
    })
    .finally(() => document.documentElement.classList.add("js-ready"));
}

init();
