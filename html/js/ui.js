// Small DOM and UI helpers shared by every page. User data only ever goes
// through textContent / attributes (never innerHTML).

import { ApiError, describe } from "./api.js";

export function h(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === null || v === undefined || v === false) {
            continue;
        }
        if (k === "class") {
            n.className = v;
        } else if (k === "text") {
            n.textContent = v;
        } else if (k === "html") {
            n.innerHTML = v; // static markup (icons) only
        } else if (k === "dataset") {
            Object.assign(n.dataset, v);
        } else if (k.startsWith("on") && typeof v === "function") {
            n.addEventListener(k.slice(2), v);
        } else if (k in n && typeof v !== "string") {
            n[k] = v;
        } else {
            n.setAttribute(k, v === true ? "" : v);
        }
    }
    append(n, kids);
    return n;
}

function append(n, kids) {
    for (const c of kids) {
        if (c === null || c === undefined || c === false) {
            continue;
        }
        if (Array.isArray(c)) {
            append(n, c);
        } else {
            n.append(c instanceof Node ? c : String(c));
        }
    }
}

const svg = (d) => `<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" ` +
    `stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${d}</svg>`;

export const icons = {
    agent: svg('<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/>'),
    chat: svg('<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/>'),
    key: svg('<circle cx="8" cy="15" r="4"/><path d="M10.8 12.2L20 3M16 7l3 3M14 9l2 2"/>'),
    settings: svg('<circle cx="12" cy="12" r="3"/><path d="M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z"/>'),
    plus: svg('<path d="M12 5v14M5 12h14"/>'),
    play: svg('<path d="M6 4l14 8-14 8z"/>'),
    edit: svg('<path d="M12 20h9M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z"/>'),
    trash: svg('<path d="M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6"/>'),
    copy: svg('<rect x="9" y="9" width="12" height="12" rx="2"/><path d="M5 15H4a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1h10a1 1 0 0 1 1 1v1"/>'),
    alert: svg('<circle cx="12" cy="12" r="9"/><path d="M12 8v4M12 16h.01"/>'),
    logout: svg('<path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9"/>'),
    back: svg('<path d="M15 18l-6-6 6-6"/>'),
    refresh: svg('<path d="M21 12a9 9 0 1 1-2.6-6.4L21 8M21 3v5h-5"/>')
};

export function loadingState(label = "Loading…") {
    return h("div", { class: "state", role: "status", "data-testid": "loading-state" },
        h("div", { class: "spinner", "aria-hidden": "true" }),
        h("p", { text: label }));
}

export function errorState(err, onRetry, title = "Couldn't load this page") {
    return h("div", { class: "state state-error", role: "alert", "data-testid": "error-state" },
        h("div", { class: "state-icon", html: icons.alert }),
        h("h2", { text: title }),
        h("p", { text: describe(err) }),
        onRetry ? h("button", {
            class: "btn btn-secondary", type: "button", "data-testid": "retry-button", onclick: onRetry,
            html: icons.refresh
        }, "Try again") : null);
}

export function emptyState({ icon, title, text, action }) {
    return h("div", { class: "state", "data-testid": "empty-state" },
        h("div", { class: "state-icon", html: icon || icons.plus }),
        h("h2", { text: title }),
        h("p", { text }),
        action || null);
}

let toastBox = null;

export function toast(msg, kind = "info") {
    if (!toastBox) {
        toastBox = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
        document.body.append(toastBox);
    }
    const t = h("div", { class: "toast" + (kind === "error" ? " toast-error" : ""), text: msg, "data-testid": "toast" });
    toastBox.append(t);
    setTimeout(() => t.remove(), 3500);
}

// A modal <dialog>, removed from the DOM when closed. build(close) returns
// the dialog's content.
export function openDialog(build, attrs = {}) {
    const d = h("dialog", attrs);
    const close = (v) => {
        d.returnValue = v === undefined ? "" : String(v);
        d.close();
    };
    d.append(build(close));
    d.addEventListener("close", () => d.remove());
    document.body.append(d);
    d.showModal();
    return d;
}

export function confirmDialog({ title, body, confirmLabel = "Confirm", danger = false }) {
    return new Promise((resolve) => {
        let ok = false;
        const d = openDialog((close) => h("form", {
            method: "dialog", onsubmit: (e) => {
                e.preventDefault();
                ok = true;
                close("ok");
            }
        },
        h("div", { class: "dialog-body" }, h("h2", { text: title }), h("p", { class: "muted", text: body })),
        h("div", { class: "dialog-actions" },
            h("button", { class: "btn btn-secondary", type: "button", "data-testid": "confirm-cancel", onclick: () => close("cancel"), text: "Cancel" }),
            h("button", { class: "btn " + (danger ? "btn-danger" : "btn-primary"), type: "submit", "data-testid": "confirm-ok", text: confirmLabel }))),
        { "aria-label": title, "data-testid": "confirm-dialog" });
        d.addEventListener("close", () => resolve(ok));
    });
}

// Disable a button and show a spinner while fn runs.
export async function busy(btn, fn) {
    const old = [...btn.childNodes];
    btn.disabled = true;
    btn.setAttribute("aria-busy", "true");
    btn.replaceChildren(h("span", { class: "spinner", "aria-hidden": "true" }), ...old);
    try {
        return await fn();
    } finally {
        btn.disabled = false;
        btn.removeAttribute("aria-busy");
        btn.replaceChildren(...old);
    }
}

// Show an API error on a form: next to the field it names when there is one,
// otherwise in the form's alert box.
export function showFormError(form, err, fieldMap = {}) {
    clearFormErrors(form);
    const alert = form.querySelector("[data-form-alert]");
    const f = err instanceof ApiError && err.status === 400 || err instanceof ApiError && err.status === 409 ? err.field : null;
    const name = f ? (fieldMap[f.name] || f.name) : null;
    const input = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
    if (input) {
        input.setAttribute("aria-invalid", "true");
        const p = h("p", { class: "error", id: input.id + "-error", text: cap(f.text), "data-testid": "field-error" });
        (input.closest(".field") || input.parentNode).append(p);
        input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), p.id].filter(Boolean).join(" "));
        input.focus();
        return;
    }
    if (alert) {
        alert.textContent = describe(err);
        alert.hidden = false;
        alert.focus?.();
    } else {
        toast(describe(err), "error");
    }
}

export function clearFormErrors(form) {
    form.querySelectorAll(".field .error").forEach((p) => {
        const input = form.querySelector(`[aria-describedby~="${p.id}"]`);
        if (input) {
            const rest = input.getAttribute("aria-describedby").split(" ").filter((x) => x !== p.id);
            if (rest.length) {
                input.setAttribute("aria-describedby", rest.join(" "));
            } else {
                input.removeAttribute("aria-describedby");
            }
        }
        p.remove();
    });
    form.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
    const alert = form.querySelector("[data-form-alert]");
    if (alert) {
        alert.hidden = true;
    }
}

export function fieldError(input, text) {
    input.setAttribute("aria-invalid", "true");
    const p = h("p", { class: "error", id: input.id + "-error", text, "data-testid": "field-error" });
    (input.closest(".field") || input.parentNode).append(p);
    input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), p.id].filter(Boolean).join(" "));
}

const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);

export async function copyText(text) {
    try {
        await navigator.clipboard.writeText(text);
        return true;
    } catch {
        const t = h("textarea", { style: "position:fixed;opacity:0", readonly: true });
        t.value = text;
        document.body.append(t);
        t.select();
        let ok = false;
        try {
            ok = document.execCommand("copy");
        } catch {
            ok = false;
        }
        t.remove();
        return ok;
    }
}

// One origin per line (or comma separated): "https://shop.example".
export function parseOrigins(text) {
    const origins = [];
    const bad = [];
    for (let s of text.split(/[\s,]+/)) {
        s = s.trim().replace(/\/+$/, "");
        if (!s) {
            continue;
        }
        let u = null;
        try {
            u = new URL(s);
        } catch {
            u = null;
        }
        if (!u || !/^https?:$/.test(u.protocol) || u.origin !== s) {
            bad.push(s);
        } else if (!origins.includes(s)) {
            origins.push(s);
        }
    }
    return { origins, bad };
}

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const df = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

export const fmt = {
    dateTime: (s) => (s ? dtf.format(new Date(s)) : "—"),
    date: (s) => (s ? df.format(new Date(s)) : "—"),
    duration(sec) {
        if (sec === null || sec === undefined || isNaN(sec)) {
            return "—";
        }
        sec = Math.round(sec);
        const m = Math.floor(sec / 60);
        const s = sec % 60;
        return m ? `${m}m ${String(s).padStart(2, "0")}s` : `${s}s`;
    },
    seconds: (s) => (s === null || s === undefined ? "—" : `${Number(s).toFixed(1)} s`),
    money(cents) {
        if (cents === null || cents === undefined) {
            return null;
        }
        return new Intl.NumberFormat(undefined, { style: "currency", currency: "USD", maximumFractionDigits: cents % 100 ? 2 : 0 })
            .format(cents / 100);
    },
    number: (n) => new Intl.NumberFormat().format(n),
    reason(r) {
        const map = {
            client_hangup: "Caller hung up", hangup: "Caller hung up", client_end: "Caller hung up",
            agent_end: "Agent ended", idle_timeout: "Idle timeout", disconnected: "Disconnected",
            error: "Error", usage_limit: "Usage limit", server_shutdown: "Server restart"
        };
        return r ? (map[r] || r.replace(/_/g, " ")) : "—";
    }
};

export function setTitle(t) {
    document.title = t ? `${t} · Orbis` : "Orbis";
}
