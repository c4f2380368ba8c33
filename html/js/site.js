// Public pages: nav state, pricing, signup and login.

import { api, ApiError, describe } from "./api.js";
import { h, busy, showFormError, clearFormErrors, fieldError, fmt } from "./ui.js";

const $ = (s, r = document) => r.querySelector(s);

// Signed in already? Offer the dashboard instead of log in / sign up.
async function navState() {
    const box = $("[data-site-actions]");
    if (!box) {
        return;
    }
    try {
        await api.me();
        box.replaceChildren(h("a", { class: "btn btn-primary", href: "/app.html", "data-testid": "nav-dashboard", text: "Open dashboard" }));
        if (document.body.dataset.page === "login" || document.body.dataset.page === "signup") {
            const note = $("[data-signed-in]");
            if (note) {
                note.hidden = false;
            }
        }
    } catch {
        /* not signed in: keep the default links */
    }
}

function planCard(p, featured) {
    const price = fmt.money(p.priceMonthlyCents);
    const items = [
        p.conversationsPerMonth === null || p.conversationsPerMonth === undefined ?
            "Unlimited conversations" : `${fmt.number(p.conversationsPerMonth)} conversations / month`,
        p.rateLimitPerMinute ? `Up to ${fmt.number(p.rateLimitPerMinute)} requests / minute` : null,
        "Voice widget for your website",
        "Transcripts and conversation history"
    ].filter(Boolean);
    return h("article", { class: "plan" + (featured ? " featured" : ""), "data-testid": "plan-card", "data-plan": p.id },
        h("h3", {}, h("span", { text: p.name }), featured ? h("span", { class: "badge badge-accent", text: "Popular" }) : null),
        h("div", { class: "price" }, price === null ? "Custom" : price,
            price === null ? null : h("small", { text: " / month" })),
        h("ul", {}, items.map((t) => h("li", { text: t }))),
        h("a", {
            class: "btn " + (featured ? "btn-primary" : "btn-secondary"),
            href: "/signup.html?plan=" + encodeURIComponent(p.id),
            text: price === null ? "Contact us" : p.priceMonthlyCents === 0 ? "Start free" : "Choose " + p.name
        }));
}

async function loadPlans(box) {
    box.setAttribute("aria-busy", "true");
    box.replaceChildren(h("div", { class: "state", role: "status", "data-testid": "loading-state", style: "grid-column:1/-1" },
        h("div", { class: "spinner", "aria-hidden": "true" }), h("p", { text: "Loading plans…" })));
    try {
        const { items } = await api.plans();
        if (!items.length) {
            box.replaceChildren(h("p", { class: "muted", "data-testid": "empty-state", text: "Plans will be announced soon." }));
        } else {
            box.replaceChildren(...items.map((p) => planCard(p, p.id === "pro")));
        }
    } catch (e) {
        box.replaceChildren(h("div", { class: "state state-error", role: "alert", "data-testid": "error-state", style: "grid-column:1/-1" },
            h("h2", { text: "Couldn't load pricing" }),
            h("p", { text: describe(e) }),
            h("button", { class: "btn btn-secondary", type: "button", "data-testid": "retry-button", text: "Try again", onclick: () => loadPlans(box) })));
    } finally {
        box.removeAttribute("aria-busy");
    }
}

function passwordProblem(pw) {
    if (pw.length < 10) {
        return "Use at least 10 characters.";
    }
    if (!/[A-Za-z]/.test(pw) || !/[^A-Za-z]/.test(pw)) {
        return "Use at least one letter and one number or symbol.";
    }
    return null;
}

function nextUrl() {
    const n = new URLSearchParams(location.search).get("next") || "";
    return /^\/app\.html(#[\w\/?=&%.-]*)?$/.test(n) ? n : "/app.html";
}

function signupForm(form) {
    const q = new URLSearchParams(location.search);
    if (q.get("ref")) {
        form.referralCode.value = q.get("ref");
    }
    if (q.get("plan")) {
        const note = $("[data-plan-note]");
        if (note) {
            note.textContent = `You're starting on the Free plan; you can move to ${q.get("plan")} once you're in.`;
            note.hidden = q.get("plan") === "free";
        }
    }
    form.addEventListener("submit", async (e) => {
        e.preventDefault();
        clearFormErrors(form);
        const body = {
            email: form.email.value.trim(),
            password: form.password.value,
            tenantName: form.tenantName.value.trim(),
            name: form.name.value.trim() || undefined,
            referralCode: form.referralCode.value.trim() || undefined
        };
        let bad = false;
        if (!body.tenantName) {
            fieldError(form.tenantName, "Enter your company or workspace name.");
            bad = true;
        }
        if (!form.email.checkValidity() || !body.email) {
            fieldError(form.email, "Enter a valid email address.");
            bad = true;
        }
        const pw = passwordProblem(body.password);
        if (pw) {
            fieldError(form.password, pw);
            bad = true;
        }
        if (bad) {
            form.querySelector("[aria-invalid=true]").focus();
            return;
        }
        try {
            await busy(form.querySelector("[type=submit]"), () => api.signup(body));
            location.href = "/app.html#/agents";
        } catch (err) {
            if (err instanceof ApiError && err.status === 409) {
                fieldError(form.email, "An account with this email already exists. Log in instead?");
                form.email.focus();
            } else {
                showFormError(form, err);
            }
        }
    });
}

function loginForm(form) {
    form.addEventListener("submit", async (e) => {
        e.preventDefault();
        clearFormErrors(form);
        if (!form.email.value.trim() || !form.password.value) {
            showFormError(form, new ApiError(400, "invalid_request", "Enter your email and password."));
            return;
        }
        try {
            await busy(form.querySelector("[type=submit]"), () =>
                api.login({ email: form.email.value.trim(), password: form.password.value }));
            location.href = nextUrl();
        } catch (err) {
            if (err instanceof ApiError && err.status === 401) {
                showFormError(form, new ApiError(401, "invalid_credentials", "Wrong email or password."));
            } else {
                showFormError(form, err);
            }
        }
    });
}

navState();
const plans = $("[data-plans]");
if (plans) {
    loadPlans(plans);
}
if ($("#signup-form")) {
    signupForm($("#signup-form"));
}
if ($("#login-form")) {
    loginForm($("#login-form"));
}
