// Acting on readings: the signed-in user's watchlist, the alerts their uploads raised, the
// readings that wait for a person, and corrections. Everything user-typed or read from a
// photo reaches the page through text nodes (dom.js `el`), never as markup.

import {
  addWatchEntry,
  correctReading,
  deleteWatchEntry,
  exportWatchlist,
  importWatchlist,
  listAlerts,
  listReview,
  listWatchlist,
} from "./api.js";
import { el, formatPercent, formatWhen, plateText } from "./dom.js";

const $ = (id) => document.getElementById(id);

// The entry the form is editing, if any: saving it adds the edited entry and removes this
// one when its plate or mode changed (the same plate and mode is the same entry).
let editing = null;

const HOW = {
  exact: "exact match",
  wildcard: "wildcard match",
  lookalike: "look-alike characters",
  "one-off": "one character off",
};

/** Say something in a panel's status line; errors read as errors. */
function say(node, text, isError = false) {
  node.textContent = text;
  node.classList.toggle("is-error", isError);
}

function message(error) {
  return error && typeof error.message === "string" && error.message ? error.message : "Something went wrong.";
}

// -- watchlist ------------------------------------------------------------------------------

function entryRow(entry, onRemove) {
  const remove = el("button", {
    class: "button button--quiet",
    type: "button",
    "aria-label": `Remove ${entry.plate} from the watchlist`,
  }, "Remove");
  remove.addEventListener("click", () => onRemove(entry, remove));
  const change = el("button", {
    class: "button button--quiet",
    type: "button",
    "aria-label": `Edit ${entry.plate}`,
  }, "Edit");
  change.addEventListener("click", () => startEditing(entry));
  const label = entry.label ? ` · ${entry.label}` : "";
  return el("li", { class: "watch-entry", "data-entry": entry.entry_id },
    el("span", { class: "plate-text watch-entry__plate" }, plateText(entry.plate)),
    el("span", { class: "watch-entry__meta" }, `${entry.mode}${label}`),
    entry.note ? el("span", { class: "watch-entry__note" }, entry.note) : null,
    change,
    remove);
}

function startEditing(entry) {
  editing = entry;
  $("watch-plate").value = entry.plate;
  $("watch-label").value = entry.label || "";
  $("watch-note").value = entry.note || "";
  $("watch-mode").value = entry.mode;
  $("watch-add").textContent = "Save";
  $("watch-plate").focus();
}

function stopEditing() {
  editing = null;
  $("watch-add").textContent = "Add";
  $("watch-form").reset();
}

async function refreshWatchlist() {
  const list = $("watch-list");
  const status = $("watch-status");
  try {
    const entries = await listWatchlist();
    list.replaceChildren(...entries.map((entry) => entryRow(entry, removeEntry)));
    $("watch-empty").hidden = entries.length > 0;
  } catch (error) {
    say(status, message(error), true);
  }
}

async function removeEntry(entry, button) {
  button.disabled = true;
  try {
    await deleteWatchEntry(entry.entry_id);
    say($("watch-status"), `${entry.plate} removed.`);
    await refreshWatchlist();
  } catch (error) {
    button.disabled = false;
    say($("watch-status"), message(error), true);
  }
}

async function addEntry(event) {
  event.preventDefault();
  const form = $("watch-form");
  const status = $("watch-status");
  const plate = $("watch-plate").value.trim();
  if (!plate) {
    say(status, "Type a plate to watch for.", true);
    $("watch-plate").focus();
    return;
  }
  const button = $("watch-add");
  button.disabled = true;
  try {
    const added = await addWatchEntry({
      plate,
      label: $("watch-label").value.trim(),
      note: $("watch-note").value.trim(),
      mode: $("watch-mode").value,
    });
    if (editing && editing.entry_id !== added.entry_id) await deleteWatchEntry(editing.entry_id);
    say(status, editing ? `${added.plate} saved.` : `${added.plate} is on your watchlist.`);
    stopEditing();
    form.reset();
    await refreshWatchlist();
  } catch (error) {
    say(status, message(error), true);
  } finally {
    button.disabled = false;
  }
}

async function importFile() {
  const input = $("watch-import");
  const file = input.files && input.files[0];
  input.value = "";
  if (!file) return;
  const status = $("watch-status");
  try {
    const result = await importWatchlist(await file.text());
    say(status, `${result.imported} entries imported (${result.new} new).`);
    await refreshWatchlist();
  } catch (error) {
    say(status, message(error), true);
  }
}

async function exportFile() {
  try {
    const blob = await exportWatchlist();
    const link = el("a", { href: URL.createObjectURL(blob), download: "platescan-watchlist.csv" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (error) {
    say($("watch-status"), message(error), true);
  }
}

// -- alerts ---------------------------------------------------------------------------------

function photoThumb(url, alt) {
  return url
    ? el("img", { class: "watch-thumb", src: url, alt, loading: "lazy", width: 64, height: 48 })
    : el("span", { class: "watch-thumb watch-thumb--none", "aria-hidden": "true" });
}

function alertRow(alert) {
  const entry = alert.entry || {};
  const label = entry.label ? ` (${entry.label})` : "";
  return el("li", { class: "alert-row", "data-upload": alert.upload_id },
    photoThumb(alert.image_url, `Photo of ${alert.plate_read}`),
    el("div", { class: "alert-row__text" },
      el("p", { class: "alert-row__plate" },
        el("span", { class: "plate-text" }, plateText(alert.plate_read)),
        " matched ",
        el("span", { class: "plate-text" }, plateText(entry.plate)),
        label),
      el("p", { class: "alert-row__meta" },
        [HOW[alert.how] || alert.how, formatPercent(alert.confidence), formatWhen(alert.alerted_at),
          alert.source === "correction" ? "after a correction" : ""].filter(Boolean).join(" · "))));
}

export async function refreshAlerts() {
  if ($("alerts-panel").hidden) return;
  try {
    const alerts = await listAlerts();
    $("alerts-list").replaceChildren(...alerts.map(alertRow));
    $("alerts-empty").hidden = alerts.length > 0;
  } catch (error) {
    say($("alerts-status"), message(error), true);
  }
}

// -- review and corrections -----------------------------------------------------------------

/**
 * A small form that corrects one plate of one upload.
 * @param {string} uploadId
 * @param {number} index which plate of the record
 * @param {(result: {record: object, alerts_raised: number}) => void} onSaved
 */
export function correctionForm(uploadId, index, onSaved) {
  const id = `correct-${uploadId}-${index}`;
  const input = el("input", {
    class: "field__input correction__input",
    id,
    name: "text",
    autocomplete: "off",
    spellcheck: "false",
    autocapitalize: "characters",
  });
  const status = el("p", { class: "correction__status", role: "status", "aria-live": "polite" });
  const button = el("button", { class: "button", type: "submit" }, "Save correction");
  const form = el("form", { class: "correction", novalidate: true },
    el("label", { class: "field__label", for: id }, "Corrected plate"),
    el("div", { class: "correction__row" }, input, button),
    status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) {
      say(status, "Type the plate as it really is.", true);
      return;
    }
    button.disabled = true;
    try {
      const result = await correctReading(uploadId, text, index);
      const raised = result.alerts_raised ? ` It matched your watchlist: ${result.alerts_raised} new alert(s).` : "";
      say(status, `Saved.${raised}`);
      onSaved(result);
      refreshAlerts();
      refreshReview();
    } catch (error) {
      say(status, message(error), true);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** "Corrected to X" under a plate a person corrected, with who and when. */
export function correctionNote(record, index) {
  const correction = record && record.correction;
  if (!correction || correction.plate_index !== index) return null;
  const original = correction.original ? `Read as ${correction.original}; ` : "";
  return el("p", { class: "correction__note" },
    `${original}corrected to `, el("span", { class: "plate-text" }, correction.text),
    ` ${formatWhen(correction.at)}.`);
}

function reviewRow(record) {
  const plate = (record.plates || [])[0] || {};
  return el("li", { class: "review-row", "data-upload": record.upload_id },
    photoThumb(record.image_url, `Photo read as ${plate.text}`),
    el("div", { class: "review-row__text" },
      el("p", {},
        el("span", { class: "plate-text" }, plateText(plate.text)),
        ` · ${formatPercent(plate.confidence)} sure · ${formatWhen(record.processed_at)}`),
      correctionForm(record.upload_id, 0, () => {})));
}

export async function refreshReview() {
  if ($("review-panel").hidden) return;
  try {
    const records = await listReview();
    $("review-list").replaceChildren(...records.map(reviewRow));
    $("review-empty").hidden = records.length > 0;
  } catch (error) {
    say($("review-status"), message(error), true);
  }
}

// -- wiring ---------------------------------------------------------------------------------

const PANELS = ["watch-panel", "alerts-panel", "review-panel"];

/** Show the panels (signed in) or hide them (signed out); load their lists when shown. */
export function setSignedIn(signedIn) {
  for (const id of PANELS) $(id).hidden = !signedIn;
  if (!signedIn) {
    stopEditing();
    for (const id of ["watch-list", "alerts-list", "review-list"]) $(id).replaceChildren();
    return;
  }
  refreshWatchlist();
  refreshAlerts();
  refreshReview();
}

export function init() {
  $("watch-form").addEventListener("submit", addEntry);
  $("watch-import").addEventListener("change", importFile);
  $("watch-export").addEventListener("click", exportFile);
  $("alerts-refresh").addEventListener("click", refreshAlerts);
  $("review-refresh").addEventListener("click", refreshReview);
}
