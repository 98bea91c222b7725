// @ts-check
// The attachments page: a file input sent with client.call, which posts the
// call as multipart/form-data because its data holds a File, with a progress
// bar fed by onUploadProgress; the list links each file to download's own
// URL (GET /rpc/attachments/download?data=...), a plain link and, for an
// image, an <img>, which the server answers with Range and ETag.
import { createClient } from "/rpc/attachments/client.mjs";
import { describe } from "./ui.js";

/**
 * @typedef {{ attachment_id: number, client_id: number, name: string, type: string, size: number, created_at: string }} AttachmentRow
 * @typedef {{ client_id: number, name: string }} ClientRow
 */

const attachments = createClient("/rpc/attachments");
const clients = createClient("/rpc/clients");

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const form = /** @type {HTMLFormElement} */ ($("attach-form"));
const select = /** @type {HTMLSelectElement} */ ($("attach-client"));
const input = /** @type {HTMLInputElement} */ ($("attach-file"));
const cancel = /** @type {HTMLButtonElement} */ ($("btn-attach-cancel"));
const bar = /** @type {HTMLProgressElement} */ ($("attach-progress"));
const percent = $("attach-percent");

/**
 * Writes a call's outcome in out-<name>, as the other pages do.
 * @param {string} name
 * @param {"pending" | "ok" | "err"} state
 * @param {string} text
 */
function out(name, state, text) {
  const el = $(`out-${name}`);
  el.dataset.label = name;
  el.className = `out ${state}`;
  el.textContent = text;
}

/** @param {number} n a size in bytes */
const size = (n) => (n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`);

/** @param {number} id the URL that downloads an attachment: a query answers GET */
const downloadURL = (id) => `/rpc/attachments/download?data=${encodeURIComponent(JSON.stringify({ attachment_id: id }))}`;

/** Lists the chosen client's attachments. */
async function refresh() {
  const ul = $("attachments");
  const clientID = Number(select.value);
  $("attach-list-client").textContent = clientID ? `of client ${clientID}` : "";
  if (!clientID) return ul.replaceChildren();
  const list = /** @type {AttachmentRow[]} */ (await attachments.call("list", { client_id: clientID }));
  ul.replaceChildren(...list.map((a) => {
    const li = document.createElement("li");
    li.dataset.attachmentId = String(a.attachment_id);
    if (a.type.startsWith("image/")) {
      const img = document.createElement("img");
      img.src = downloadURL(a.attachment_id);
      img.alt = "";
      img.className = "thumb";
      li.append(img);
    }
    const link = document.createElement("a");
    link.href = downloadURL(a.attachment_id);
    link.download = a.name;
    link.textContent = a.name;
    const info = document.createElement("span");
    info.className = "meta";
    info.textContent = `${a.type}, ${size(a.size)}`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "remove";
    remove.className = "remove";
    remove.addEventListener("click", async () => {
      try {
        const gone = /** @type {AttachmentRow} */ (await attachments.call("remove", { attachment_id: a.attachment_id }));
        out("remove", "ok", `ok: removed ${gone.name}`);
      } catch (err) {
        out("remove", "err", describe(err));
      }
      await refresh();
    });
    li.append(link, info, remove);
    return li;
  }));
}

/** Fills the client choice from /rpc/clients list, keeping the one chosen. */
async function loadClients() {
  const chosen = select.value;
  const list = /** @type {ClientRow[]} */ (await clients.call("list", {}));
  select.replaceChildren(...list.map((c) => new Option(`${c.client_id}: ${c.name}`, String(c.client_id))));
  if (!list.length) select.append(new Option("no clients: create one on the first page", ""));
  if (list.some((c) => String(c.client_id) === chosen)) select.value = chosen;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = input.files?.[0];
  if (!file) return;
  const controller = new AbortController();
  cancel.disabled = false;
  cancel.onclick = () => controller.abort();
  bar.value = 0;
  percent.textContent = "0 %";
  out("attach", "pending", `uploading ${file.name}…`);
  try {
    const a = /** @type {AttachmentRow} */ (await attachments.call("attach", { client_id: Number(select.value), file }, {
      signal: controller.signal,
      onUploadProgress: ({ loaded, total }) => {
        const p = total ? Math.floor((loaded / total) * 100) : 0;
        bar.value = p;
        percent.textContent = `${p} %`;
      },
    }));
    out("attach", "ok", `ok: ${JSON.stringify(a)}`);
    input.value = "";
  } catch (err) {
    out("attach", "err", describe(err));
  } finally {
    cancel.disabled = true;
  }
  await refresh();
});
select.addEventListener("change", refresh);

loadClients()
  .then(refresh)
  .catch((err) => out("attach", "err", describe(err)))
  .finally(() => { document.body.dataset.ready = "true"; });
