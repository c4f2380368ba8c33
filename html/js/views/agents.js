// Agents: list, create, edit, delete, try.

import { api, describe } from "../api.js";
import { h, icons, loadingState, errorState, emptyState, toast, confirmDialog, busy, showFormError,
    clearFormErrors, fieldError, setTitle, fmt, copyText } from "../ui.js";
import { pageHead, field } from "./common.js";
import { tryAgent } from "../try.js";

function newButton() {
    return h("a", { class: "btn btn-primary", href: "#/agents/new", "data-testid": "agents-new", html: icons.plus },
        "New agent");
}

export async function agentsList(ctx) {
    setTitle("Agents");
    const body = h("div");
    ctx.root.replaceChildren(
        pageHead("Agents", "Each agent has its own instructions, voice and tools.", newButton()),
        body);
    await loadPage(ctx, body, null, true);
}

async function loadPage(ctx, body, cursor, replace) {
    if (replace) {
        body.replaceChildren(loadingState("Loading agents…"));
    }
    let page;
    try {
        page = await api.agents({ limit: 24, cursor });
    } catch (e) {
        if (!ctx.alive()) {
            return;
        }
        if (replace) {
            body.replaceChildren(errorState(e, () => loadPage(ctx, body, cursor, true), "Couldn't load your agents"));
        } else {
            toast(describe(e), "error");
        }
        return;
    }
    if (!ctx.alive()) {
        return;
    }
    let grid = body.querySelector(".agents-grid");
    if (replace || !grid) {
        if (!page.items.length) {
            body.replaceChildren(emptyState({
                icon: icons.agent,
                title: "No agents yet",
                text: "Create your first voice agent: give it instructions, pick a voice, and try it right here.",
                action: h("a", { class: "btn btn-primary", href: "#/agents/new", "data-testid": "empty-new-agent", text: "Create an agent" })
            }));
            return;
        }
        grid = h("div", { class: "agents-grid", "data-testid": "agents-list" });
        body.replaceChildren(grid);
    }
    body.querySelector(".load-more")?.remove();
    for (const a of page.items) {
        grid.append(agentCard(ctx, a, body));
    }
    if (page.nextCursor) {
        const more = h("button", {
            class: "btn btn-secondary load-more", type: "button", style: "margin-top:16px", "data-testid": "agents-more",
            text: "Load more",
            onclick: () => busy(more, () => loadPage(ctx, body, page.nextCursor, false))
        });
        body.append(more);
    }
}

function agentCard(ctx, a, body) {
    const card = h("article", { class: "card agent-card", "data-testid": "agent-card", "data-agent-id": a.id },
        h("h2", {}, h("a", { href: "#/agents/" + encodeURIComponent(a.id), text: a.name, style: "color:inherit;text-decoration:none" })),
        h("div", { class: "meta" },
            h("span", { class: "badge badge-accent", text: a.voice }),
            h("span", { class: "badge", text: a.language }),
            h("span", { class: "badge", text: (a.tools?.length || 0) === 1 ? "1 tool" : `${a.tools?.length || 0} tools` })),
        h("p", { class: "prompt", text: a.systemPrompt }),
        h("p", { class: "small muted", style: "margin:0", text: "Updated " + fmt.dateTime(a.updatedAt || a.createdAt) }),
        h("div", { class: "card-actions" },
            h("button", {
                class: "btn btn-primary btn-sm", type: "button", "data-testid": "agent-try", html: icons.play,
                onclick: () => tryAgent(a)
            }, "Try"),
            h("a", { class: "btn btn-secondary btn-sm", href: "#/agents/" + encodeURIComponent(a.id), "data-testid": "agent-edit", text: "Edit" }),
            h("span", { class: "spacer" }),
            h("button", {
                class: "btn btn-danger-ghost btn-sm", type: "button", "data-testid": "agent-delete",
                "aria-label": `Delete ${a.name}`, html: icons.trash,
                onclick: (e) => deleteAgent(ctx, a, e.currentTarget, () => {
                    card.remove();
                    if (!body.querySelector("[data-testid=agent-card]")) {
                        loadPage(ctx, body, null, true);
                    }
                })
            })));
    return card;
}

async function deleteAgent(ctx, a, btn, done) {
    const ok = await confirmDialog({
        title: `Delete "${a.name}"?`,
        body: "The agent stops answering at once, including on sites where the widget is embedded. Past conversations stay in your history.",
        confirmLabel: "Delete agent",
        danger: true
    });
    if (!ok) {
        return;
    }
    try {
        await busy(btn, () => api.deleteAgent(a.id));
        toast(`Deleted "${a.name}"`);
        done();
    } catch (e) {
        if (e.status === 404) {
            done();
        } else {
            toast(describe(e), "error");
        }
    }
}

export async function agentEdit(ctx) {
    const id = ctx.params[0] || null;
    setTitle(id ? "Edit agent" : "New agent");
    const back = h("a", { class: "back", href: "#/agents", html: icons.back }, "All agents");
    ctx.root.replaceChildren(back, loadingState(id ? "Loading agent…" : "Loading voices and tools…"));
    let catalog;
    let agent = null;
    try {
        [catalog, agent] = await Promise.all([api.catalog(), id ? api.agent(id) : null]);
    } catch (e) {
        if (!ctx.alive()) {
            return;
        }
        ctx.root.replaceChildren(back, e.status === 404 ?
            emptyState({ icon: icons.alert, title: "Agent not found", text: "It may have been deleted.", action: h("a", { class: "btn btn-primary", href: "#/agents", text: "Back to agents" }) }) :
            errorState(e, () => agentEdit(ctx), id ? "Couldn't load this agent" : "Couldn't load voices and tools"));
        return;
    }
    if (!ctx.alive()) {
        return;
    }
    const a = agent || { name: "", systemPrompt: "", voice: catalog.voices[0], greeting: "", language: catalog.defaultLanguage || catalog.languages[0], tools: [] };

    const name = h("input", { type: "text", name: "name", required: true, maxlength: "100", value: a.name, "data-testid": "agent-name", autocomplete: "off" });
    const prompt = h("textarea", { name: "systemPrompt", class: "tall", required: true, maxlength: "20000", "data-testid": "agent-prompt",
        placeholder: "You are the friendly assistant of Acme Bikes. Help visitors choose a bike, answer questions about orders and opening hours. Keep answers short: this is a voice conversation." });
    prompt.value = a.systemPrompt;
    const count = h("p", { class: "hint counter", "aria-live": "off" });
    const updateCount = () => { count.textContent = `${prompt.value.length.toLocaleString()} / 20,000 characters`; };
    prompt.addEventListener("input", updateCount);
    updateCount();
    const voice = h("select", { name: "voice", required: true, "data-testid": "agent-voice" },
        catalog.voices.map((v) => h("option", { value: v, text: v, selected: v === a.voice })));
    const language = h("select", { name: "language", "data-testid": "agent-language" },
        catalog.languages.map((l) => h("option", { value: l, text: languageName(l), selected: l === a.language })));
    const greeting = h("input", { type: "text", name: "greeting", maxlength: "500", value: a.greeting || "", "data-testid": "agent-greeting",
        placeholder: "Hi! Thanks for visiting Acme Bikes. How can I help?" });

    const tools = catalog.tools.length ?
        h("fieldset", {},
            h("legend", {}, "Tools ", h("span", { class: "muted", text: "(optional)" })),
            catalog.tools.map((t) => h("label", { class: "check" },
                h("input", { type: "checkbox", name: "tools", value: t.name, checked: (a.tools || []).includes(t.name), "data-testid": "agent-tool-" + t.name }),
                h("div", {}, h("strong", { text: t.name }), h("span", { text: t.description || "" }))))) :
        h("p", { class: "muted", text: "No tools are available yet." });

    const alert = h("p", { class: "alert alert-error", hidden: true, tabindex: "-1", "data-form-alert": true, "data-testid": "form-error" });
    const save = h("button", { class: "btn btn-primary", type: "submit", "data-testid": "agent-save", text: id ? "Save changes" : "Create agent" });
    const form = h("form", { class: "card", novalidate: true, "data-testid": "agent-form" },
        alert,
        field({ label: "Name", input: name, hint: "Shown in your dashboard and as the widget's title." }),
        field({ label: "Instructions (system prompt)", input: prompt }),
        count,
        h("div", { class: "row" },
            field({ label: "Voice", input: voice }),
            field({ label: "Language", input: language })),
        field({ label: "Greeting", input: greeting, optional: true, hint: "What the agent says first. Leave empty to let the caller speak first." }),
        tools,
        h("div", { class: "form-actions" },
            save,
            h("a", { class: "btn btn-secondary", href: "#/agents", "data-testid": "agent-cancel", text: "Cancel" }),
            h("span", { class: "spacer" }),
            id ? h("button", {
                class: "btn btn-danger-ghost", type: "button", "data-testid": "agent-delete", html: icons.trash,
                onclick: (e) => deleteAgent(ctx, agent, e.currentTarget, () => ctx.navigate("/agents"))
            }, "Delete") : null));

    form.addEventListener("submit", async (e) => {
        e.preventDefault();
        clearFormErrors(form);
        const body = {
            name: name.value.trim(),
            systemPrompt: prompt.value.trim(),
            voice: voice.value,
            greeting: greeting.value.trim(),
            language: language.value,
            tools: [...form.querySelectorAll("input[name=tools]:checked")].map((i) => i.value)
        };
        if (!body.name) {
            fieldError(name, "Give the agent a name.");
        }
        if (!body.systemPrompt) {
            fieldError(prompt, "Tell the agent what to do.");
        }
        if (!body.name || !body.systemPrompt) {
            form.querySelector("[aria-invalid=true]").focus();
            return;
        }
        try {
            const saved = await busy(save, () => (id ? api.updateAgent(id, body) : api.createAgent(body)));
            toast(id ? "Changes saved" : `Created "${saved.name}"`);
            ctx.navigate("/agents");
        } catch (err) {
            showFormError(form, err);
        }
    });

    const aside = h("aside", {},
        agent ? h("div", { class: "card" },
            h("h2", { text: "Use this agent" }),
            h("p", { class: "small muted", text: "Agent ID, for the widget's agentId option:" }),
            h("div", { class: "copy-line" },
                h("code", { text: agent.id, "data-testid": "agent-id" }),
                h("button", {
                    class: "btn btn-secondary btn-sm", type: "button", html: icons.copy, "aria-label": "Copy agent ID",
                    onclick: async () => toast((await copyText(agent.id)) ? "Agent ID copied" : "Copy failed", "info")
                })),
            h("p", { class: "small muted", style: "margin-top:14px", text: "Hear it in your browser before putting it on your site:" }),
            h("button", { class: "btn btn-primary", type: "button", "data-testid": "agent-try", style: "width:100%", html: icons.play, onclick: () => tryAgent(agent) }, "Try this agent")) :
            h("div", { class: "card" },
                h("h2", { text: "Writing good instructions" }),
                h("ul", { class: "small muted", style: "padding-left:18px;margin:0" },
                    h("li", { text: "Say who the agent is and who it talks to." }),
                    h("li", { text: "Keep answers short: people are listening, not reading." }),
                    h("li", { text: "List what it must never do or promise." }),
                    h("li", { text: "Tell it when to use each tool." }))));

    ctx.root.replaceChildren(back,
        h("div", { class: "page-head" }, h("div", {},
            h("h1", { text: id ? `Edit ${agent.name}` : "New agent" }),
            h("p", { text: id ? `Created ${fmt.dateTime(agent.createdAt)}` : "Describe what your agent should do and how it should sound." }))),
        h("div", { class: "editor" }, form, aside));
    if (!id) {
        name.focus();
    }
}

const langNames = (() => {
    try {
        return new Intl.DisplayNames(undefined, { type: "language" });
    } catch {
        return null;
    }
})();

function languageName(code) {
    try {
        return langNames ? `${langNames.of(code)} (${code})` : code;
    } catch {
        return code;
    }
}
