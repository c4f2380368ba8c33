// Workspace settings: name, billing email, workspace-wide allowed origins.

import { api } from "../api.js";
import { h, loadingState, errorState, toast, busy, showFormError, clearFormErrors, fieldError, parseOrigins, setTitle } from "../ui.js";
import { pageHead, field } from "./common.js";

export async function settingsView(ctx) {
    setTitle("Settings");
    ctx.root.replaceChildren(pageHead("Settings", "Your workspace and account."), loadingState());
    let t;
    try {
        t = await api.tenant();
    } catch (e) {
        if (ctx.alive()) {
            ctx.root.replaceChildren(pageHead("Settings"), errorState(e, () => settingsView(ctx), "Couldn't load your settings"));
        }
        return;
    }
    if (!ctx.alive()) {
        return;
    }
    const name = h("input", { type: "text", name: "name", required: true, value: t.name || "", "data-testid": "settings-name" });
    const billing = h("input", { type: "email", name: "billingEmail", value: t.billingEmail || "", "data-testid": "settings-billing" });
    const origins = h("textarea", { name: "allowedOrigins", rows: "3", style: "min-height:84px", spellcheck: "false", "data-testid": "settings-origins",
        placeholder: "https://www.example.com" });
    origins.value = (t.allowedOrigins || []).join("\n");
    const alert = h("p", { class: "alert alert-error", hidden: true, tabindex: "-1", "data-form-alert": true, "data-testid": "form-error" });
    const save = h("button", { class: "btn btn-primary", type: "submit", "data-testid": "settings-save", text: "Save" });
    const form = h("form", { class: "card", novalidate: true, "data-testid": "settings-form" },
        h("div", { class: "card-title" }, h("h2", { text: "Workspace" }),
            h("span", { class: "badge badge-accent", "data-testid": "settings-plan", text: `${cap(t.plan || "free")} plan` })),
        alert,
        field({ label: "Workspace name", input: name }),
        field({ label: "Billing email", input: billing, hint: "Invoices and usage alerts go here." }),
        field({ label: "Allowed origins", input: origins, hint: "Sites allowed to embed your agents across the workspace, one per line, e.g. https://www.example.com. Each publishable key has its own list too." }),
        h("div", { class: "form-actions" }, save, h("a", { href: "/pricing.html", class: "btn btn-ghost", text: "Compare plans" })));
    form.addEventListener("submit", async (e) => {
        e.preventDefault();
        clearFormErrors(form);
        const parsed = parseOrigins(origins.value);
        if (!name.value.trim()) {
            fieldError(name, "Enter a workspace name.");
        }
        if (parsed.bad.length) {
            fieldError(origins, `Not an origin: ${parsed.bad.join(", ")}. Use the form https://shop.example (no path).`);
        }
        if (billing.value && !billing.checkValidity()) {
            fieldError(billing, "Enter a valid email address.");
        }
        const first = form.querySelector("[aria-invalid=true]");
        if (first) {
            first.focus();
            return;
        }
        try {
            const nt = await busy(save, () => api.updateTenant({
                name: name.value.trim(), billingEmail: billing.value.trim(), allowedOrigins: parsed.origins
            }));
            ctx.setSession({ tenant: nt });
            toast("Settings saved");
        } catch (err) {
            showFormError(form, err);
        }
    });
    const u = ctx.session.user || {};
    ctx.root.replaceChildren(pageHead("Settings", "Your workspace and account."), form,
        h("section", { class: "card", "aria-labelledby": "acct-title" },
            h("div", { class: "card-title" }, h("h2", { id: "acct-title", text: "Your account" })),
            h("p", { style: "margin:0" }, h("strong", { text: u.name || u.email || "" }), " ",
                h("span", { class: "muted", text: u.name ? `· ${u.email}` : "" }), " ",
                h("span", { class: "badge", text: u.role || "member" }))));
}

const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
