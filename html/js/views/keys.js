// API keys: create (shown once), list, edit allowed origins, revoke.

import { api, describe } from "../api.js";
import { h, icons, loadingState, errorState, emptyState, toast, confirmDialog, busy, openDialog, showFormError,
    clearFormErrors, fieldError, parseOrigins, setTitle, fmt, copyText } from "../ui.js";
import { pageHead, field } from "./common.js";
import { rememberKey, forgetKey } from "../try.js";

export async function keysView(ctx) {
    setTitle("API keys");
    const body = h("div");
    const create = h("button", { class: "btn btn-primary", type: "button", "data-testid": "keys-new", html: icons.plus,
        onclick: () => createDialog(ctx, reload) }, "Create key");
    ctx.root.replaceChildren(
        pageHead("API keys", "Publishable keys go in web pages with the widget; secret keys stay on your servers.", create),
        body);
    const reload = () => load(ctx, body, create);
    await reload();
}

async function load(ctx, body, create) {
    body.replaceChildren(loadingState("Loading keys…"));
    let keys;
    let agents;
    try {
        [keys, agents] = await Promise.all([api.keys(), api.allAgents().catch(() => null)]);
    } catch (e) {
        if (ctx.alive()) {
            body.replaceChildren(errorState(e, () => load(ctx, body, create), "Couldn't load your keys"));
        }
        return;
    }
    if (!ctx.alive()) {
        return;
    }
    ctx.agents = agents;
    if (!keys.items.length) {
        body.replaceChildren(emptyState({
            icon: icons.key,
            title: "No API keys yet",
            text: "Create a publishable key to put the voice widget on your website, or a secret key to call the API from your server.",
            action: h("button", { class: "btn btn-primary", type: "button", "data-testid": "empty-new-key", text: "Create a key",
                onclick: () => create.click() })
        }));
        return;
    }
    const names = new Map((agents || []).map((a) => [a.id, a.name]));
    const rows = keys.items.map((k) => keyRow(ctx, k, names, () => load(ctx, body, create)));
    body.replaceChildren(
        h("div", { class: "table-wrap" },
            h("table", { "data-testid": "keys-list" },
                h("caption", { class: "sr-only", text: "API keys" }),
                h("thead", {}, h("tr", {},
                    h("th", { scope: "col", text: "Name" }),
                    h("th", { scope: "col", text: "Key" }),
                    h("th", { scope: "col", text: "Allowed origins" }),
                    h("th", { scope: "col", class: "hide-sm", text: "Agents" }),
                    h("th", { scope: "col", class: "hide-sm", text: "Created" }),
                    h("th", { scope: "col" }, h("span", { class: "sr-only", text: "Actions" })))),
                h("tbody", {}, rows))));
}

function keyRow(ctx, k, names, reload) {
    const origins = k.kind === "secret" ? h("span", { class: "muted small", text: "Server use only" }) :
        (k.allowedOrigins || []).length ? h("div", { class: "chips" }, k.allowedOrigins.map((o) => h("span", { class: "badge", text: o }))) :
            h("span", { class: "badge badge-warn", text: "None: works nowhere" });
    const agents = !k.agentIds || !k.agentIds.length ? h("span", { class: "muted small", text: "All agents" }) :
        h("div", { class: "chips" }, k.agentIds.map((id) => h("span", { class: "badge", text: names.get(id) || id })));
    const row = h("tr", { "data-testid": "key-row", "data-key-id": k.id },
        h("td", {}, h("strong", { text: k.name }), h("div", {},
            h("span", { class: "badge " + (k.kind === "secret" ? "badge-danger" : "badge-accent"), text: k.kind === "secret" ? "Secret" : "Publishable" }))),
        h("td", {}, h("span", { class: "key-mask", "data-testid": "key-mask", text: `${k.prefix || ""}…${k.last4 || ""}` })),
        h("td", {}, origins),
        h("td", { class: "hide-sm" }, agents),
        h("td", { class: "hide-sm nowrap", text: fmt.date(k.createdAt) }),
        h("td", { class: "actions" },
            h("button", { class: "btn btn-secondary btn-sm", type: "button", "data-testid": "key-edit", text: "Edit",
                "aria-label": `Edit ${k.name}`, onclick: () => editDialog(ctx, k, reload) }),
            h("button", { class: "btn btn-danger-ghost btn-sm", type: "button", "data-testid": "key-revoke", text: "Revoke",
                "aria-label": `Revoke ${k.name}`,
                onclick: async (e) => {
                    const btn = e.currentTarget;
                    const ok = await confirmDialog({
                        title: `Revoke "${k.name}"?`,
                        body: k.kind === "secret" ? "Servers using this key are refused at once. This can't be undone." :
                            "Widgets using this key stop working at once, on every site. This can't be undone.",
                        confirmLabel: "Revoke key",
                        danger: true
                    });
                    if (!ok) {
                        return;
                    }
                    try {
                        await busy(btn, () => api.revokeKey(k.id));
                    } catch (err) {
                        if (err.status !== 404) {
                            toast(describe(err), "error");
                            return;
                        }
                    }
                    forgetKey(k.id);
                    toast(`Revoked "${k.name}"`);
                    row.remove();
                    reload();
                }
            })));
    return row;
}

function agentChecks(agents, selected) {
    if (!agents || !agents.length) {
        return null;
    }
    return h("fieldset", {},
        h("legend", {}, "Limit to agents ", h("span", { class: "muted", text: "(optional: none ticked means all agents)" })),
        agents.map((a) => h("label", { class: "check" },
            h("input", { type: "checkbox", name: "agentIds", value: a.id, checked: (selected || []).includes(a.id), "data-testid": "key-agent-" + a.id }),
            h("div", {}, h("strong", { text: a.name }), h("span", { text: a.voice })))));
}

function originsField(value) {
    const ta = h("textarea", { name: "allowedOrigins", rows: "3", style: "min-height:84px", "data-testid": "key-origins",
        placeholder: "https://www.example.com\nhttps://shop.example.com", spellcheck: "false" });
    ta.value = (value || []).join("\n");
    return { ta, el: field({ label: "Allowed origins", input: ta, hint: "One per line: scheme, host and port, no path. The widget only works on these sites." }) };
}

function readOrigins(form, ta) {
    const { origins, bad } = parseOrigins(ta.value);
    if (bad.length) {
        fieldError(ta, `Not an origin: ${bad.join(", ")}. Use the form https://shop.example (no path).`);
        return null;
    }
    return origins;
}

function createDialog(ctx, reload) {
    const name = h("input", { type: "text", name: "name", required: true, maxlength: "100", "data-testid": "key-name", placeholder: "Website widget" });
    const pub = h("input", { type: "radio", name: "kind", value: "publishable", checked: true, "data-testid": "key-kind-publishable" });
    const sec = h("input", { type: "radio", name: "kind", value: "secret", "data-testid": "key-kind-secret" });
    const origins = originsField([]);
    const alert = h("p", { class: "alert alert-error", hidden: true, tabindex: "-1", "data-form-alert": true, "data-testid": "form-error" });
    const submit = h("button", { class: "btn btn-primary", type: "submit", "data-testid": "key-create", text: "Create key" });
    const checks = agentChecks(ctx.agents);

    openDialog((close) => {
        const form = h("form", { novalidate: true, "data-testid": "key-form" },
            h("div", { class: "dialog-body" },
                h("h2", { text: "Create an API key" }),
                alert,
                field({ label: "Name", input: name, hint: "So you can tell your keys apart, e.g. the site it is for." }),
                h("fieldset", {}, h("legend", { text: "Type" }),
                    h("div", { class: "segmented" },
                        h("label", { class: "check" }, pub, h("div", {}, h("strong", { text: "Publishable" }), h("span", { text: "For the widget in web pages. Limited to your origins." }))),
                        h("label", { class: "check" }, sec, h("div", {}, h("strong", { text: "Secret" }), h("span", { text: "For your servers. Never put it in a page." }))))),
                origins.el,
                checks),
            h("div", { class: "dialog-actions" },
                h("button", { class: "btn btn-secondary", type: "button", text: "Cancel", onclick: () => close() }),
                submit));
        const sync = () => { origins.el.hidden = sec.checked; };
        pub.addEventListener("change", sync);
        sec.addEventListener("change", sync);
        form.addEventListener("submit", async (e) => {
            e.preventDefault();
            clearFormErrors(form);
            const kind = sec.checked ? "secret" : "publishable";
            if (!name.value.trim()) {
                fieldError(name, "Give the key a name.");
                name.focus();
                return;
            }
            const body = { name: name.value.trim(), kind };
            if (kind === "publishable") {
                const o = readOrigins(form, origins.ta);
                if (!o) {
                    origins.ta.focus();
                    return;
                }
                if (!o.length) {
                    fieldError(origins.ta, "Add at least one origin, e.g. https://www.example.com.");
                    origins.ta.focus();
                    return;
                }
                body.allowedOrigins = o;
            }
            const ids = [...form.querySelectorAll("input[name=agentIds]:checked")].map((i) => i.value);
            if (ids.length) {
                body.agentIds = ids;
            }
            try {
                const k = await busy(submit, () => api.createKey(body));
                rememberKey(k);
                close();
                revealDialog(k);
                reload();
            } catch (err) {
                showFormError(form, err);
            }
        });
        return form;
    }, { "aria-label": "Create an API key", "data-testid": "key-dialog" });
    name.focus();
}

function revealDialog(k) {
    const copy = h("button", { class: "btn btn-secondary", type: "button", "data-testid": "key-copy", html: icons.copy }, "Copy");
    copy.addEventListener("click", async () => {
        const ok = await copyText(k.key);
        copy.lastChild.textContent = ok ? "Copied" : "Copy failed";
        setTimeout(() => { copy.lastChild.textContent = "Copy"; }, 2000);
    });
    const snippet = `<script>\n  window.OrbisVoice = window.OrbisVoice || { q: [] };\n  OrbisVoice.q.push(["init", {\n` +
        `    agentId: "YOUR_AGENT_ID",\n    apiKey: "${k.key}"\n  }]);\n</script>\n<script src="${location.origin}/widget.js" async></script>`;
    openDialog((close) => h("div", {},
        h("div", { class: "dialog-body" },
            h("h2", { text: `Your new ${k.kind} key` }),
            h("p", { class: "alert alert-warn", text: "Copy it now: for your security it won't be shown again." }),
            h("div", { class: "secret-box" }, h("code", { "data-testid": "key-value", text: k.key }), copy),
            k.kind === "publishable" ? [
                h("p", { class: "small muted", text: "Embed the widget with it (the agent ID is on each agent's page):" }),
                h("pre", { class: "snippet", text: snippet })
            ] : h("p", { class: "small muted", text: "Send it from your server in the Authorization header. Never put it in a web page or app." })),
        h("div", { class: "dialog-actions" },
            h("button", { class: "btn btn-primary", type: "button", "data-testid": "key-done", text: "I've saved it", onclick: () => close() }))),
    { "aria-label": "Your new key", "data-testid": "key-reveal" });
}

function editDialog(ctx, k, reload) {
    const name = h("input", { type: "text", name: "name", required: true, maxlength: "100", value: k.name, "data-testid": "key-edit-name" });
    const origins = originsField(k.allowedOrigins);
    origins.ta.setAttribute("data-testid", "key-origins-edit");
    const alert = h("p", { class: "alert alert-error", hidden: true, tabindex: "-1", "data-form-alert": true, "data-testid": "form-error" });
    const submit = h("button", { class: "btn btn-primary", type: "submit", "data-testid": "key-save", text: "Save" });
    openDialog((close) => {
        const form = h("form", { novalidate: true },
            h("div", { class: "dialog-body" },
                h("h2", { text: `Edit "${k.name}"` }),
                alert,
                field({ label: "Name", input: name }),
                k.kind === "publishable" ? origins.el : null,
                agentChecks(ctx.agents, k.agentIds)),
            h("div", { class: "dialog-actions" },
                h("button", { class: "btn btn-secondary", type: "button", text: "Cancel", onclick: () => close() }),
                submit));
        form.addEventListener("submit", async (e) => {
            e.preventDefault();
            clearFormErrors(form);
            if (!name.value.trim()) {
                fieldError(name, "Give the key a name.");
                name.focus();
                return;
            }
            const body = { name: name.value.trim() };
            if (k.kind === "publishable") {
                const o = readOrigins(form, origins.ta);
                if (!o) {
                    origins.ta.focus();
                    return;
                }
                body.allowedOrigins = o;
            }
            if (ctx.agents && ctx.agents.length) {
                // Only when changed: an empty list means "all agents" here.
                const ids = [...form.querySelectorAll("input[name=agentIds]:checked")].map((i) => i.value);
                const before = [...(k.agentIds || [])].sort().join(",");
                if ([...ids].sort().join(",") !== before) {
                    body.agentIds = ids;
                }
            }
            try {
                await busy(submit, () => api.updateKey(k.id, body));
                close();
                toast("Key updated");
                reload();
            } catch (err) {
                showFormError(form, err);
            }
        });
        return form;
    }, { "aria-label": `Edit ${k.name}`, "data-testid": "key-edit-dialog" });
}
