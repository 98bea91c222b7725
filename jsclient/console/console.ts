// The console (echorpc.Config.Console), served at <prefix>/console: it lists
// the functions this caller may call (the instance's manifest.json, fetched
// again after each call, so a function that a login opens appears), renders
// a form from each input's JSON Schema beside a raw JSON editor, calls the
// function as the client does (GET for a query, POST otherwise, a live view
// for a stream), and shows the envelope, status, timing and field errors.
import { call, stream, WrpcError, type FieldError } from "./client.mjs";

/** A JSON Schema, as much of it as the manifest writes. */
interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema;
  anyOf?: Schema[];
}

/** One function of the manifest. */
interface Entry {
  name: string;
  description?: string;
  idempotent: boolean;
  stream?: boolean;
  files?: boolean;
  download?: boolean;
  query?: boolean;
  rules?: { session?: string[]; host?: boolean; remote?: boolean };
  input: Schema;
  output: Schema;
}

interface Manifest {
  name: string;
  functions: Entry[];
  $defs?: Record<string, Schema>;
}

const here = new URL(import.meta.url);
const endpoint = here.origin + here.pathname.replace(/\/console\.js$/, "");
const $ = (id: string) => document.getElementById(id)!;

let manifest: Manifest = { name: "", functions: [] };
let current: Entry | undefined;
let value: unknown; // the data of the call being edited
let running: AbortController | undefined;

/** Makes an element with attributes (on* are listeners) and children. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, any> = {}, ...children: (Node | string | undefined)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k == "value" || (k in el && typeof v !== "string")) (el as any)[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== undefined) el.append(c);
  return el;
}

/** The schema a $ref names, and a nullable one's non-null part. */
function resolve(s: Schema | undefined): Schema {
  s = s || {};
  for (let i = 0; i < 20; i++) {
    if (s.$ref) s = manifest.$defs?.[s.$ref.replace("#/$defs/", "")] || {};
    else if (s.anyOf?.length == 2 && s.anyOf[1].type == "null") s = s.anyOf[0];
    else break;
  }
  return s;
}

/** A short TypeScript-like name of a schema's type. */
function typeName(s: Schema | undefined, depth = 0): string {
  if (s?.$ref) return s.$ref.replace("#/$defs/", "");
  s = s || {};
  if (s.anyOf) return s.anyOf.map((x) => typeName(x, depth)).join(" | ");
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.format == "binary") return "File";
  switch (s.type) {
    case "array":
      return typeName(s.items, depth) + "[]";
    case "object":
      if (s.properties && depth < 3) {
        const req = s.required || [];
        return "{ " + Object.entries(s.properties).map(([k, v]) => k + (req.includes(k) ? "" : "?") + ": " + typeName(v, depth + 1)).join("; ") + " }";
      }
      return s.additionalProperties ? "Record<string, " + typeName(s.additionalProperties, depth + 1) + ">" : "object";
    case undefined:
      return "any";
  }
  return s.type!;
}

/** The definitions a schema uses, for the types panel. */
function defsOf(s: Schema | undefined, seen = new Set<string>()): Set<string> {
  if (!s) return seen;
  if (s.$ref) {
    const name = s.$ref.replace("#/$defs/", "");
    if (!seen.has(name)) {
      seen.add(name);
      defsOf(manifest.$defs?.[name], seen);
    }
  }
  for (const x of [s.items, s.additionalProperties, ...(s.anyOf || []), ...Object.values(s.properties || {})]) defsOf(x, seen);
  return seen;
}

/** A starting value for a schema: what an empty form holds. */
function initial(s: Schema, required: boolean): unknown {
  s = resolve(s);
  if (s.enum) return required ? s.enum[0] : undefined;
  switch (s.type) {
    case "object":
      if (!s.properties) return required ? {} : undefined;
      const o: Record<string, unknown> = {};
      for (const k of s.required || []) o[k] = initial(s.properties[k], true);
      return o;
    case "array":
      return required ? [] : undefined;
    case "boolean":
      return required ? false : undefined;
    case "string":
      return required && s.format != "binary" ? "" : undefined;
  }
  return undefined;
}

/** Sets the data at path (property names and indices) to v, or deletes it for undefined. */
function setAt(path: (string | number)[], v: unknown): void {
  if (!path.length) {
    value = v;
    return;
  }
  if (value === null || typeof value != "object") value = typeof path[0] == "number" ? [] : {};
  let o: any = value;
  for (let i = 0; i < path.length - 1; i++) {
    if (o[path[i]] === null || typeof o[path[i]] != "object") o[path[i]] = typeof path[i + 1] == "number" ? [] : {};
    o = o[path[i]];
  }
  const last = path[path.length - 1];
  if (v === undefined && !Array.isArray(o)) delete o[last];
  else o[last] = v;
}

const getAt = (path: (string | number)[]): any => path.reduce((o: any, k) => (o == null ? undefined : o[k]), value);
const dotted = (path: (string | number)[]) => path.join(".");
const idOf = (path: (string | number)[]) => "f-" + (path.length ? path.join("-") : "data");

/** The raw editor's text for the data: files show as {"file": name}. */
function rawText(): string {
  if (value === undefined) return "";
  return JSON.stringify(value, (_k, v) => (v instanceof File ? { file: v.name } : v), 2);
}

function edited(): void {
  ($("raw") as HTMLTextAreaElement).value = rawText();
  ($("raw") as HTMLTextAreaElement).removeAttribute("aria-invalid");
}

/** A field's error slot, filled when a call is refused at that field. */
const errorSlot = (path: (string | number)[]) => h("span", { class: "field-error", id: idOf(path) + "-error", "data-error-for": dotted(path), "aria-live": "polite" });

/** The form controls for a schema at path. */
function control(s0: Schema, path: (string | number)[], label: string, required: boolean): HTMLElement {
  const s = resolve(s0);
  const id = idOf(path);
  const v = getAt(path);
  const hint = [typeName(s0), required ? "required" : "optional"];
  if (s.minimum !== undefined) hint.push("≥ " + s.minimum);
  if (s.maximum !== undefined) hint.push("≤ " + s.maximum);
  if (s.minLength !== undefined) hint.push("min length " + s.minLength);
  if (s.maxLength !== undefined) hint.push("max length " + s.maxLength);
  const labelled = (input: HTMLElement) =>
    h("div", { class: "field" }, h("label", { for: id }, label, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : undefined, " ", h("small", {}, hint.join(", "))), input, errorSlot(path));
  const common = { id, name: dotted(path) || "data", "aria-describedby": id + "-error" };

  if (s.type == "object" && s.properties) {
    const req = s.required || [];
    const fs = h("fieldset", { class: path.length ? "nested" : "top" }, path.length ? h("legend", {}, label) : undefined);
    for (const [k, ps] of Object.entries(s.properties)) fs.append(control(ps, [...path, k], k, req.includes(k)));
    fs.append(errorSlot(path));
    return fs;
  }
  if (s.type == "array" && s.items && s.format != "binary") {
    const list: unknown[] = Array.isArray(v) ? v : [];
    const fs = h("fieldset", { class: "nested array" }, h("legend", {}, label + " ", h("small", {}, hint.join(", "))));
    list.forEach((_, i) => {
      const item = control(s.items!, [...path, i], label + "[" + i + "]", true);
      item.append(h("button", { type: "button", class: "secondary", onclick: () => { list.splice(i, 1); setAt(path, list); rebuild(); } }, "Remove " + label + "[" + i + "]"));
      fs.append(h("div", { class: "item" }, item));
    });
    fs.append(
      h("button", { type: "button", class: "secondary", id: id + "-add", onclick: () => {
        setAt(path, [...list, initial(s.items!, true)]);
        rebuild();
        (document.querySelector(`#${CSS.escape(idOf([...path, list.length]))}, #${CSS.escape(idOf([...path, list.length]))} input`) as HTMLElement | null)?.focus();
      } }, "Add to " + label),
      errorSlot(path),
    );
    return fs;
  }
  if (s.enum) {
    const sel = h("select", { ...common, onchange: () => { const o = s.enum![sel.selectedIndex - (required ? 0 : 1)]; setAt(path, o); edited(); } });
    if (!required) sel.append(h("option", { value: "" }, "(none)"));
    for (const o of s.enum) sel.append(h("option", { selected: o === v }, String(o)));
    return labelled(sel);
  }
  if (s.format == "binary") {
    const input = h("input", { ...common, type: "file", onchange: () => { setAt(path, input.files?.[0]); edited(); } });
    return labelled(input);
  }
  switch (s.type) {
    case "boolean": {
      const box = h("input", { ...common, type: "checkbox", checked: v === true, onchange: () => { setAt(path, box.checked); edited(); } });
      return labelled(box);
    }
    case "integer":
    case "number": {
      const input = h("input", { ...common, type: "number", inputmode: s.type == "integer" ? "numeric" : "decimal", step: s.type == "integer" ? "1" : "any", min: s.minimum, max: s.maximum, value: typeof v == "number" ? String(v) : "",
        oninput: () => { setAt(path, input.value === "" ? undefined : Number(input.value)); edited(); } });
      return labelled(input);
    }
    case "string": {
      const input = h("input", { ...common, type: "text", minlength: s.minLength, maxlength: s.maxLength, placeholder: s.format || undefined, value: typeof v == "string" ? v : "",
        oninput: () => { setAt(path, input.value === "" && !required ? undefined : input.value); edited(); } });
      return labelled(input);
    }
  }
  // any other value (untyped data, maps): JSON of its own
  const area = h("textarea", { ...common, rows: 3, spellcheck: false, class: "json", value: v === undefined ? "" : JSON.stringify(v),
    oninput: () => {
      try {
        setAt(path, area.value.trim() === "" ? undefined : JSON.parse(area.value));
        area.removeAttribute("aria-invalid");
        edited();
      } catch {
        area.setAttribute("aria-invalid", "true");
      }
    } });
  hint[0] = typeName(s0) + " as JSON";
  return labelled(area);
}

/** Redraws the form from the data. */
function rebuild(): void {
  $("fields").replaceChildren(form());
  edited();
}

/** The form of the shown function's input; an untyped input has the raw editor only. */
function form(): HTMLElement | string {
  if (!current) return "";
  const s = resolve(current.input);
  if (!s.type && !s.enum) return h("p", { class: "muted" }, "The input is untyped (any JSON value): edit it in the raw editor.");
  return control(current.input, [], "data", true);
}

/** Lists the functions, marking the one shown. */
function renderList(): void {
  const list = $("functions");
  list.replaceChildren(
    ...manifest.functions.map((f) =>
      h("li", {}, h("a", { href: "#" + encodeURIComponent(f.name), "aria-current": f.name == current?.name ? "page" : undefined, "data-function": f.name }, f.name), badges(f)),
    ),
  );
  $("status").textContent = manifest.functions.length + " function" + (manifest.functions.length == 1 ? "" : "s") + " you may call";
}

function badges(f: Entry): HTMLElement {
  const b = h("span", { class: "badges" });
  const add = (text: string, title: string) => b.append(h("span", { class: "badge", title }, text));
  if (f.query) add("query", "side-effect free: called with GET");
  if (f.stream) add("stream", "server push: items arrive one by one");
  if (f.idempotent) add("idempotent", "safe to repeat");
  if (f.files) add("files", "takes files: sent as multipart/form-data");
  if (f.download) add("download", "answers a file");
  if (f.rules?.session) add("session: " + f.rules.session.join(", "), "guarded by the session");
  if (f.rules?.host) add("host", "guarded by the Host header");
  if (f.rules?.remote) add("address", "guarded by the caller's address");
  return b;
}

/** Shows the function the location's hash names (or the first). */
function show(): void {
  const name = decodeURIComponent(location.hash.slice(1));
  const f = manifest.functions.find((x) => x.name == name) || (name ? undefined : manifest.functions[0]);
  const panel = $("function");
  if (!f) {
    current = undefined;
    panel.replaceChildren(h("p", { class: "muted" }, name ? `No function "${name}" that you may call. Log in, then call any function to refresh the list.` : "No functions that you may call."));
    renderList();
    return;
  }
  if (f.name == current?.name && f === current) return;
  const same = f.name == current?.name;
  current = f;
  if (!same) value = initial(f.input, true);
  renderList();
  const defs = [...defsOf(f.input), ...defsOf(f.output)];
  panel.replaceChildren(
    h("h2", { id: "fn-name", tabindex: "-1" }, f.name, " ", badges(f)),
    h("p", { class: "doc" }, f.description || "No description."),
    h("dl", { class: "types" },
      h("dt", {}, "Input"), h("dd", {}, h("code", {}, typeName(f.input))),
      h("dt", {}, "Output"), h("dd", {}, h("code", {}, typeName(f.output))),
      ...defs.flatMap((d) => [h("dt", {}, d), h("dd", {}, h("code", {}, typeName(manifest.$defs?.[d]) ))])),
    h("form", { id: "call-form", novalidate: true, onsubmit: (e: Event) => { e.preventDefault(); run(); } },
      h("div", { class: "editors" },
        h("div", { id: "fields", class: "fields" }),
        h("div", { class: "raw" }, h("label", { for: "raw" }, "Raw JSON ", h("small", {}, "the data; Ctrl+Enter calls")),
          h("textarea", { id: "raw", rows: 10, spellcheck: false, class: "json", oninput: rawEdited, onkeydown: (e: KeyboardEvent) => { if (e.key == "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } } }))),
      h("div", { class: "row" },
        h("button", { type: "submit", id: "call" }, f.stream ? "Start stream" : "Call " + f.name),
        h("button", { type: "button", id: "stop", class: "secondary", hidden: true, onclick: () => running?.abort() }, "Stop"),
        h("span", { class: "spacer" }),
        h("button", { type: "button", class: "secondary", id: "copy-curl", onclick: () => copy("curl") }, "Copy as curl"),
        h("button", { type: "button", class: "secondary", id: "copy-fetch", onclick: () => copy("fetch") }, "Copy as fetch"),
        h("button", { type: "button", class: "secondary", id: "copy-go", onclick: () => copy("go") }, "Copy as Go"))),
    h("pre", { id: "copied", class: "code", hidden: true, tabindex: "0", "aria-label": "the copied call" }),
    h("section", { id: "result", "aria-live": "polite", "aria-label": "result" }),
  );
  rebuild();
}

function rawEdited(): void {
  const raw = $("raw") as HTMLTextAreaElement;
  try {
    value = raw.value.trim() === "" ? undefined : JSON.parse(raw.value);
    raw.removeAttribute("aria-invalid");
    $("fields").replaceChildren(form());
  } catch {
    raw.setAttribute("aria-invalid", "true");
  }
}

/** Whether the call goes as a GET, as the client's get option sends a query. */
const viaGet = (f: Entry) => !!f.query && /^[A-Za-z0-9_-]+$/.test(f.name) && !hasFile(value);
const hasFile = (v: unknown): boolean => v instanceof Blob || (v !== null && typeof v == "object" && Object.values(v as object).some(hasFile));
const body = () => JSON.stringify({ weerpc: 1.1, function: current!.name, data: value });
const getURL = () => endpoint + "/" + current!.name + (value === undefined ? "" : "?data=" + encodeURIComponent(JSON.stringify(value)));

/** Calls the shown function and shows what came back. */
async function run(): Promise<void> {
  const f = current!;
  if (running) return;
  const result = $("result");
  clearErrors();
  running = new AbortController();
  const stop = $("stop") as HTMLButtonElement;
  const started = performance.now();
  const meta = h("p", { class: "meta", id: "meta" }, "calling…");
  result.replaceChildren(meta);
  try {
    if (f.stream) {
      stop.hidden = false;
      const items = h("ol", { id: "items", class: "items" });
      result.append(h("h3", {}, "Items"), items);
      let n = 0;
      try {
        for await (const item of stream(f.name, value, { endpoint, signal: running.signal })) {
          n++;
          items.append(h("li", {}, JSON.stringify(item)));
          meta.textContent = `streaming · ${n} item${n == 1 ? "" : "s"} · ${ms(started)}`;
        }
        meta.textContent = `${running.signal.aborted ? "stopped" : "ended"} · ${n} item${n == 1 ? "" : "s"} · ${ms(started)}`;
        meta.className = "meta ok";
      } catch (err) {
        failed(err, meta, started);
      }
    } else if (f.files && hasFile(value)) {
      try {
        const out = await call(f.name, value, { endpoint, signal: running.signal });
        envelope(meta, 200, { ok: true, data: out }, started, "POST multipart");
      } catch (err) {
        failed(err, meta, started);
      }
    } else {
      const get = viaGet(f);
      const init: RequestInit = get
        ? { method: "GET", headers: { Accept: "application/json" }, credentials: "same-origin", signal: running.signal }
        : { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" }, credentials: "same-origin", body: body(), signal: running.signal };
      try {
        const res = await fetch(get ? getURL() : endpoint, init);
        const text = await res.text();
        let env: any;
        try {
          env = JSON.parse(text);
        } catch {
          env = text;
        }
        envelope(meta, res.status, env, started, get ? "GET" : "POST");
      } catch (err) {
        failed(err, meta, started);
      }
    }
  } finally {
    running = undefined;
    stop.hidden = true;
    refresh();
  }
}

const ms = (started: number) => Math.round(performance.now() - started) + " ms";

/** Shows an envelope with its status and timing, and its field errors at their fields. */
function envelope(meta: HTMLElement, status: number, env: any, started: number, how: string): void {
  const ok = status < 400 && env?.ok !== false;
  meta.textContent = `${how} · HTTP ${status} · ${ms(started)} · ${ok ? "ok" : env?.ok === false && status < 400 ? "failed" : "error"}`;
  meta.className = "meta " + (ok ? "ok" : "err");
  meta.setAttribute("data-status", String(status));
  $("result").append(h("pre", { id: "envelope", class: "code" }, typeof env == "string" ? env : JSON.stringify(env, null, 2)));
  const errors = env?.data?.errors;
  if (Array.isArray(errors)) showErrors(errors);
}

function failed(err: unknown, meta: HTMLElement, started: number): void {
  if (err instanceof WrpcError) {
    envelope(meta, err.status, err.status ? { ok: false, message: err.message.replace(/^[^:]*: /, ""), data: err.data } : err.message, started, current?.stream ? "stream" : "call");
  } else {
    meta.textContent = String(err) + " · " + ms(started);
    meta.className = "meta err";
  }
}

/** Puts each field error in its field's slot (the nearest one up its path), the rest under the result. */
function showErrors(errors: FieldError[]): void {
  const rest: string[] = [];
  for (const e of errors) {
    const path = String(e.path ?? "").split(".").filter((x) => x !== "");
    let slot: HTMLElement | null = null;
    for (let n = path.length; n >= 0 && !slot; n--) slot = document.querySelector(`[data-error-for="${CSS.escape(path.slice(0, n).join("."))}"]`);
    if (!slot) {
      rest.push(e.path + ": " + e.message);
      continue;
    }
    slot.textContent = (slot.textContent ? slot.textContent + "; " : "") + (slot.dataset.errorFor == e.path ? "" : e.path + ": ") + e.message;
    document.getElementById(slot.id.replace(/-error$/, ""))?.setAttribute("aria-invalid", "true");
  }
  if (rest.length) $("result").append(h("ul", { class: "field-errors" }, ...rest.map((r) => h("li", {}, r))));
}

function clearErrors(): void {
  for (const el of document.querySelectorAll<HTMLElement>("[data-error-for]")) el.textContent = "";
  for (const el of document.querySelectorAll("#fields [aria-invalid]")) el.removeAttribute("aria-invalid");
}

/** Shell-quotes s for sh. */
const sh = (s: string) => "'" + s.replace(/'/g, `'\\''`) + "'";

/** Copies the call as curl, fetch or Go, and shows it. */
function copy(as: "curl" | "fetch" | "go"): void {
  const f = current!;
  const get = viaGet(f) && !f.stream;
  const json = value === undefined ? "nil" : JSON.stringify(value);
  let text: string;
  if (as == "curl") {
    text = get
      ? `curl -sS ${sh(getURL())}`
      : `curl -sS${f.stream ? " -N -H 'Accept: text/event-stream'" : ""} -H 'Content-Type: application/json' --data-raw ${sh(body())} ${sh(endpoint)}`;
  } else if (as == "fetch") {
    text = get
      ? `const res = await fetch(${JSON.stringify(getURL())}, { credentials: "same-origin" });\nconsole.log(res.status, await res.json());`
      : `const res = await fetch(${JSON.stringify(endpoint)}, {\n  method: "POST",\n  headers: { "Content-Type": "application/json"${f.stream ? `, Accept: "text/event-stream"` : ""} },\n  credentials: "same-origin",\n  body: JSON.stringify(${body()}),\n});\nconsole.log(res.status, await res.${f.stream ? "text" : "json"}());`;
  } else {
    const data = value === undefined ? "nil" : "json.RawMessage(`" + json.replace(/`/g, "` + \"`\" + `") + "`)";
    text = f.stream
      ? `client := &echorpc.Client{Endpoint: ${JSON.stringify(endpoint)}}\nfor item, err := range client.Stream(ctx, ${JSON.stringify(f.name)}, ${data}) {\n\tif err != nil {\n\t\treturn err\n\t}\n\tfmt.Println(string(item))\n}`
      : `client := &echorpc.Client{Endpoint: ${JSON.stringify(endpoint)}}\nvar out json.RawMessage\nif err := client.Call(ctx, ${JSON.stringify(f.name)}, ${data}, &out); err != nil {\n\treturn err\n}\nfmt.Println(string(out))`;
  }
  const pre = $("copied");
  pre.hidden = false;
  pre.textContent = text;
  pre.dataset.as = as;
  navigator.clipboard?.writeText(text).then(
    () => pre.setAttribute("data-copied", "true"),
    () => pre.setAttribute("data-copied", "false"),
  );
}

/** Fetches the caller's manifest again and redraws the list (and the function, if it changed). */
async function refresh(): Promise<void> {
  try {
    const res = await fetch(endpoint + "/manifest.json", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!res.ok) throw new Error("manifest.json answered " + res.status);
    manifest = await res.json();
  } catch (err) {
    $("status").textContent = "Could not load the functions: " + String(err);
    return;
  }
  const f = manifest.functions.find((x) => x.name == current?.name);
  if (current && f && JSON.stringify(f) == JSON.stringify(current)) {
    current = f;
    renderList();
  } else {
    show();
  }
  document.body.dataset.functions = manifest.functions.map((x) => x.name).join(" ");
}

function start(): void {
  const root = $("console");
  root.replaceChildren(
    h("nav", { "aria-label": "Functions" }, h("h2", {}, "Functions"), h("ul", { id: "functions" }), h("button", { type: "button", class: "secondary", id: "refresh", onclick: () => refresh() }, "Refresh")),
    h("main", { id: "function" }),
  );
  window.addEventListener("hashchange", () => {
    show();
    $("fn-name")?.focus();
  });
  refresh().then(() => (document.body.dataset.ready = "true"));
}

start();
