// "Try this agent": load /widget.js into the dashboard and start it with a
// publishable key that allows this origin.
//
// A key's full value is shown only once, when it is created, so publishable
// keys created in this browser are remembered in localStorage (publishable
// keys are public by design: they sit in every page that embeds the widget).
// Secret keys are never stored.

import { api, describe } from "./api.js";
import { h, openDialog, busy, toast } from "./ui.js";

const STORE = "orbis.publishableKeys";

export function rememberKey(k) {
    if (!k || k.kind !== "publishable" || !k.key) {
        return;
    }
    const all = loadStore().filter((x) => x.id !== k.id);
    all.push({ id: k.id, key: k.key, name: k.name, last4: k.last4, prefix: k.prefix });
    try {
        localStorage.setItem(STORE, JSON.stringify(all.slice(-20)));
    } catch {
        /* storage full or disabled: the user can paste the key instead */
    }
}

export function forgetKey(id) {
    try {
        localStorage.setItem(STORE, JSON.stringify(loadStore().filter((x) => x.id !== id)));
    } catch {
        /* ignore */
    }
}

function loadStore() {
    try {
        const v = JSON.parse(localStorage.getItem(STORE) || "[]");
        return Array.isArray(v) ? v : [];
    } catch {
        return [];
    }
}

let widgetLoading = null;

export function loadWidget() {
    if (window.OrbisVoice && window.OrbisVoice.__orbis) {
        return Promise.resolve(window.OrbisVoice);
    }
    if (!widgetLoading) {
        widgetLoading = new Promise((resolve, reject) => {
            const s = document.createElement("script");
            s.src = "/widget.js";
            s.async = true;
            s.onload = () => (window.OrbisVoice && window.OrbisVoice.__orbis ? resolve(window.OrbisVoice) :
                reject(new Error("widget.js did not start")));
            s.onerror = () => {
                widgetLoading = null;
                s.remove();
                reject(new Error("Couldn't load the widget from /widget.js."));
            };
            document.head.append(s);
        });
    }
    return widgetLoading;
}

function startWidget(agent, key) {
    return loadWidget().then((ov) => {
        ov.init({
            agentId: agent.id,
            apiKey: key,
            server: location.origin,
            title: agent.name,
            greeting: `This is a test of "${agent.name}". The conversation is recorded like any other and appears under Conversations.`,
            open: true
        });
    });
}

export async function tryAgent(agent) {
    const origin = location.origin;
    let usable = [];
    const status = h("p", { class: "small muted", role: "status", text: "Checking your keys…" });
    const choices = h("div", {});
    const alert = h("p", { class: "alert alert-error", hidden: true, "data-testid": "try-error" });
    const start = h("button", { class: "btn btn-primary", type: "submit", "data-testid": "try-start", text: "Open the widget" });

    const dlg = openDialog((close) => {
        const form = h("form", { method: "dialog", onsubmit: (e) => go(e, close) },
            h("div", { class: "dialog-body" },
                h("h2", { text: `Try ${agent.name}` }),
                h("p", { class: "muted" }, "The widget opens on this page exactly as your visitors see it. It needs a publishable key that allows ",
                    h("code", { text: origin }), "."),
                alert, status, choices),
            h("div", { class: "dialog-actions" },
                h("button", { class: "btn btn-secondary", type: "button", text: "Cancel", onclick: () => close() }),
                start));
        return form;
    }, { "aria-label": `Try ${agent.name}`, "data-testid": "try-dialog" });

    function option(value, label, extra, checked) {
        const id = "try-opt-" + value.replace(/\W/g, "");
        return h("label", { class: "check", for: id },
            h("input", { type: "radio", name: "choice", id, value, checked, "data-testid": "try-opt-" + value.split(":")[0] }),
            h("div", {}, h("strong", { text: label }), extra ? h("span", { text: extra }) : null));
    }

    try {
        const { items } = await api.keys();
        const live = new Map(items.map((k) => [k.id, k]));
        usable = loadStore().filter((s) => {
            const k = live.get(s.id);
            return k && k.kind === "publishable" && (k.allowedOrigins || []).includes(origin) &&
                (!k.agentIds || !k.agentIds.length || k.agentIds.includes(agent.id));
        });
        status.hidden = true;
    } catch (e) {
        status.textContent = "Couldn't list your keys (" + describe(e) + "). You can still paste one.";
    }
    const paste = h("input", { type: "text", name: "pasted", "aria-label": "Publishable key", placeholder: "pk_…", autocomplete: "off", "data-testid": "try-key-paste" });
    choices.append(
        ...usable.map((k, i) => option("key:" + k.id, `Use "${k.name}"`, `${k.prefix || ""}…${k.last4 || k.key.slice(-4)}`, i === 0)),
        option("create", "Create a test key for this dashboard", `A publishable key that only works on ${origin}.`, usable.length === 0),
        h("label", { class: "check", for: "try-opt-paste" },
            h("input", { type: "radio", name: "choice", id: "try-opt-paste", value: "paste", "data-testid": "try-opt-paste" }),
            h("div", { style: "flex:1;min-width:0" }, h("strong", { text: "Paste a publishable key" }), paste)));
    paste.addEventListener("focus", () => { dlg.querySelector("#try-opt-paste").checked = true; });

    async function go(e, close) {
        e.preventDefault();
        alert.hidden = true;
        const choice = dlg.querySelector("input[name=choice]:checked")?.value || "create";
        try {
            await busy(start, async () => {
                let key;
                if (choice.startsWith("key:")) {
                    key = usable.find((k) => "key:" + k.id === choice).key;
                } else if (choice === "paste") {
                    key = paste.value.trim();
                    if (!key) {
                        throw new Error("Paste a publishable key first.");
                    }
                } else {
                    const k = await api.createKey({ name: "Dashboard test key", kind: "publishable", allowedOrigins: [origin] });
                    rememberKey(k);
                    key = k.key;
                    toast("Created a test key for this dashboard");
                }
                await startWidget(agent, key);
            });
            close();
        } catch (err) {
            alert.textContent = err.status !== undefined ? describe(err) : err.message;
            alert.hidden = false;
        }
    }
}
