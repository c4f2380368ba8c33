// The signed-in dashboard: session check, hash router, shell.

import { api, setUnauthorizedHandler } from "./api.js";
import { h, errorState, loadingState, setTitle } from "./ui.js";
import { agentsList, agentEdit } from "./views/agents.js";
import { keysView } from "./views/keys.js";
import { conversationsList, conversationDetail } from "./views/conversations.js";
import { settingsView } from "./views/settings.js";

const root = document.getElementById("view-inner");
const main = document.getElementById("view");

const routes = [
    [/^\/agents$/, agentsList, "agents"],
    [/^\/agents\/new$/, agentEdit, "agents"],
    [/^\/agents\/([^/]+)$/, agentEdit, "agents"],
    [/^\/keys$/, keysView, "keys"],
    [/^\/conversations$/, conversationsList, "conversations"],
    [/^\/conversations\/([^/]+)$/, conversationDetail, "conversations"],
    [/^\/settings$/, settingsView, "settings"]
];

const session = { user: null, tenant: null };
let renderId = 0;
let first = true;

function toLogin() {
    const next = "/app.html" + location.hash;
    location.replace("/login.html?next=" + encodeURIComponent(next));
}

setUnauthorizedHandler(toLogin);

function parseHash() {
    const raw = location.hash.replace(/^#/, "") || "/agents";
    const [path, query = ""] = raw.split("?");
    return { path, query: new URLSearchParams(query) };
}

export function navigate(path) {
    if (location.hash === "#" + path) {
        route();
    } else {
        location.hash = path;
    }
}

function showSession() {
    document.querySelector("[data-tenant-name]").textContent = session.tenant?.name || "";
    document.querySelector("[data-user-email]").textContent = session.user?.email || "";
}

async function route() {
    const id = ++renderId;
    const { path, query } = parseHash();
    let match = null;
    for (const [re, view, nav] of routes) {
        const m = re.exec(path);
        if (m) {
            match = { view, nav, params: m.slice(1).map(decodeURIComponent) };
            break;
        }
    }
    document.querySelectorAll("[data-nav]").forEach((a) => {
        if (match && a.dataset.nav === match.nav) {
            a.setAttribute("aria-current", "page");
        } else {
            a.removeAttribute("aria-current");
        }
    });
    if (!match) {
        setTitle("Not found");
        root.replaceChildren(h("div", { class: "state", "data-testid": "empty-state" },
            h("h1", { text: "Page not found", tabindex: "-1" }),
            h("p", { text: "There's nothing at this address." }),
            h("a", { class: "btn btn-primary", href: "#/agents", text: "Go to agents" })));
        return;
    }
    const ctx = {
        root,
        params: match.params,
        query,
        session,
        navigate,
        alive: () => id === renderId,
        setSession(t) {
            Object.assign(session, t);
            showSession();
        }
    };
    main.setAttribute("aria-busy", "true");
    try {
        await match.view(ctx);
    } finally {
        if (ctx.alive()) {
            main.removeAttribute("aria-busy");
            if (!first) {
                const h1 = root.querySelector("h1");
                if (h1) {
                    h1.setAttribute("tabindex", "-1");
                    h1.focus({ preventScroll: true });
                }
                window.scrollTo(0, 0);
            }
            first = false;
        }
    }
}

async function boot() {
    root.replaceChildren(loadingState("Signing you in…"));
    try {
        const me = await api.me();
        session.user = me.user;
        session.tenant = me.tenant;
    } catch (e) {
        if (e.status === 401) {
            toLogin();
            return;
        }
        root.replaceChildren(errorState(e, boot, "Couldn't open your dashboard"));
        return;
    }
    showSession();
    window.addEventListener("hashchange", route);
    route();
}

document.querySelector("[data-logout]").addEventListener("click", async (e) => {
    e.currentTarget.disabled = true;
    try {
        await api.logout();
    } catch {
        /* the cookie may already be gone: leave anyway */
    }
    location.href = "/login.html";
});

boot();
