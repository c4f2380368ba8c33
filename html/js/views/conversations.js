// Conversations: filtered, paginated list and a transcript view.

import { api } from "../api.js";
import { h, icons, loadingState, errorState, emptyState, setTitle, fmt, fieldError, clearFormErrors } from "../ui.js";
import { pageHead, field } from "./common.js";

const PAGE = 20;

export async function conversationsList(ctx) {
    setTitle("Conversations");
    const q = ctx.query;
    const filters = { agent: q.get("agent") || "", from: q.get("from") || "", to: q.get("to") || "" };

    const agentSel = h("select", { name: "agent", "data-testid": "conv-filter-agent" }, h("option", { value: "", text: "All agents" }));
    const from = h("input", { type: "date", name: "from", value: filters.from, "data-testid": "conv-filter-from" });
    const to = h("input", { type: "date", name: "to", value: filters.to, "data-testid": "conv-filter-to" });
    const form = h("form", { class: "filters", role: "search", "aria-label": "Filter conversations", "data-testid": "conv-filters" },
        field({ label: "Agent", input: agentSel }),
        field({ label: "From", input: from }),
        field({ label: "To", input: to }),
        h("div", { class: "form-actions" },
            h("button", { class: "btn btn-primary", type: "submit", "data-testid": "conv-filter-apply", text: "Apply" }),
            filters.agent || filters.from || filters.to ?
                h("a", { class: "btn btn-ghost", href: "#/conversations", "data-testid": "conv-filter-reset", text: "Reset" }) : null));
    const body = h("div");
    ctx.root.replaceChildren(pageHead("Conversations", "Every call with your agents, newest first."), form, body);

    form.addEventListener("submit", (e) => {
        e.preventDefault();
        clearFormErrors(form);
        if (from.value && to.value && from.value > to.value) {
            fieldError(to, "The end date is before the start date.");
            to.focus();
            return;
        }
        const p = new URLSearchParams();
        for (const [k, v] of [["agent", agentSel.value], ["from", from.value], ["to", to.value]]) {
            if (v) {
                p.set(k, v);
            }
        }
        const s = p.toString();
        ctx.navigate("/conversations" + (s ? "?" + s : ""));
    });

    api.allAgents().then((agents) => {
        if (!ctx.alive()) {
            return;
        }
        agents.forEach((a) => agentSel.append(h("option", { value: a.id, text: a.name, selected: a.id === filters.agent })));
        if (filters.agent && !agents.some((a) => a.id === filters.agent)) {
            agentSel.append(h("option", { value: filters.agent, text: "(deleted agent)", selected: true }));
        }
    }, () => {
        if (filters.agent) {
            agentSel.append(h("option", { value: filters.agent, text: filters.agent, selected: true }));
        }
    });

    const cursors = [null];
    await showPage(ctx, body, filters, cursors, 0);
}

async function showPage(ctx, body, filters, cursors, index) {
    body.replaceChildren(loadingState("Loading conversations…"));
    let page;
    try {
        page = await api.conversations({ ...filters, limit: PAGE, cursor: cursors[index] });
    } catch (e) {
        if (ctx.alive()) {
            body.replaceChildren(errorState(e, () => showPage(ctx, body, filters, cursors, index), "Couldn't load conversations"));
        }
        return;
    }
    if (!ctx.alive()) {
        return;
    }
    const filtered = filters.agent || filters.from || filters.to;
    if (!page.items.length && index === 0) {
        body.replaceChildren(filtered ?
            emptyState({ icon: icons.chat, title: "No conversations match", text: "Try another agent or a wider date range.",
                action: h("a", { class: "btn btn-secondary", href: "#/conversations", text: "Clear filters" }) }) :
            emptyState({ icon: icons.chat, title: "No conversations yet",
                text: "When someone talks to one of your agents, the call shows up here with its transcript. Try an agent to see one.",
                action: h("a", { class: "btn btn-primary", href: "#/agents", text: "Go to agents" }) }));
        return;
    }
    cursors[index + 1] = page.nextCursor;
    const open = (c) => ctx.navigate("/conversations/" + encodeURIComponent(c.id));
    const rows = page.items.map((c) => h("tr", { class: "clickable", "data-testid": "conv-row", "data-conv-id": c.id, onclick: (e) => {
        if (!e.target.closest("a")) {
            open(c);
        }
    } },
    h("td", { class: "nowrap" }, h("a", { href: "#/conversations/" + encodeURIComponent(c.id), text: fmt.dateTime(c.startedAt) })),
    h("td", { text: c.agentName || "(deleted agent)" }),
    h("td", { class: "nowrap", text: c.endedAt || c.durationSec ? fmt.duration(c.durationSec) : "In progress" }),
    h("td", { class: "hide-sm", text: c.turnCount ?? "—" }),
    h("td", { class: "hide-sm", text: fmt.reason(c.endReason) })));
    const prev = h("button", { class: "btn btn-secondary btn-sm", type: "button", "data-testid": "conv-prev", text: "← Newer",
        disabled: index === 0, onclick: () => showPage(ctx, body, filters, cursors, index - 1) });
    const next = h("button", { class: "btn btn-secondary btn-sm", type: "button", "data-testid": "conv-next", text: "Older →",
        disabled: !page.nextCursor, onclick: () => showPage(ctx, body, filters, cursors, index + 1) });
    body.replaceChildren(...[
        h("div", { class: "table-wrap" },
            h("table", { "data-testid": "conv-list" },
                h("caption", { class: "sr-only", text: "Conversations" }),
                h("thead", {}, h("tr", {},
                    h("th", { scope: "col", text: "Started" }),
                    h("th", { scope: "col", text: "Agent" }),
                    h("th", { scope: "col", text: "Duration" }),
                    h("th", { scope: "col", class: "hide-sm", text: "Turns" }),
                    h("th", { scope: "col", class: "hide-sm", text: "Ended by" }))),
                h("tbody", {}, rows))),
        index === 0 && !page.nextCursor ? null :
            h("nav", { class: "pager", "aria-label": "Pages" }, prev, h("span", { class: "muted small", text: `Page ${index + 1}` }), next)
    ].filter(Boolean));
}

export async function conversationDetail(ctx) {
    const id = ctx.params[0];
    setTitle("Conversation");
    const back = h("a", { class: "back", href: "#/conversations", html: icons.back }, "All conversations");
    ctx.root.replaceChildren(back, loadingState("Loading conversation…"));
    let c;
    try {
        c = await api.conversation(id);
    } catch (e) {
        if (ctx.alive()) {
            ctx.root.replaceChildren(back, e.status === 404 ?
                emptyState({ icon: icons.alert, title: "Conversation not found", text: "It may belong to another workspace or have been deleted." }) :
                errorState(e, () => conversationDetail(ctx), "Couldn't load this conversation"));
        }
        return;
    }
    if (!ctx.alive()) {
        return;
    }
    const stat = (label, value) => h("div", { class: "stat" }, h("div", { class: "label", text: label }), h("div", { class: "value", text: value }));
    const turns = c.turns || [];
    const tools = c.toolCalls || [];
    ctx.root.replaceChildren(...[back,
        pageHead(`Conversation with ${c.agentName || "a deleted agent"}`, `Started ${fmt.dateTime(c.startedAt)}`),
        h("div", { class: "stats" },
            stat("Duration", fmt.duration(c.durationSec)),
            stat("Turns", String(c.turnCount ?? turns.length)),
            stat("Ended by", fmt.reason(c.endReason)),
            stat("Audio in", fmt.seconds(c.audioSecondsIn)),
            stat("Audio out", fmt.seconds(c.audioSecondsOut)),
            stat("Reconnects", String(c.resumptions ?? 0))),
        h("section", { class: "card", "aria-labelledby": "tr-title" },
            h("div", { class: "card-title" }, h("h2", { id: "tr-title", text: "Transcript" })),
            turns.length ?
                h("div", { class: "transcript", "data-testid": "conv-transcript" }, turns.map((t) =>
                    h("div", { class: "turn " + (t.role === "user" ? "user" : "agent"), "data-testid": "conv-turn" },
                        h("div", { class: "who" }, t.role === "user" ? "Caller" : (c.agentName || "Agent"),
                            t.at ? h("span", { text: " · " + new Date(t.at).toLocaleTimeString() }) : null),
                        h("div", { class: "text", text: t.text })))) :
                h("p", { class: "muted", "data-testid": "conv-transcript-empty", text: "No transcript was recorded for this conversation." })),
        tools.length ? h("section", { class: "card", "aria-labelledby": "tc-title", "data-testid": "conv-tools" },
            h("div", { class: "card-title" }, h("h2", { id: "tc-title", text: `Tool calls (${tools.length})` })),
            tools.map((t) => h("details", { class: "tool" },
                h("summary", {}, h("span", { text: t.name }),
                    h("span", { class: "badge " + (/^(ok|success|done|completed)$/i.test(t.status) ? "badge-success" : /err|fail|timeout/i.test(t.status) ? "badge-danger" : ""), text: t.status || "unknown" }),
                    t.startedAt && t.finishedAt ? h("span", { class: "muted small", text: `${Math.max(0, Date.parse(t.finishedAt) - Date.parse(t.startedAt))} ms` }) : null),
                h("div", { class: "small muted", style: "margin-top:8px", text: "Arguments" }),
                h("pre", { text: JSON.stringify(t.args ?? null, null, 2) }),
                h("div", { class: "small muted", style: "margin-top:8px", text: "Result" }),
                h("pre", { text: JSON.stringify(t.result ?? null, null, 2) })))) : null
    ].filter(Boolean));
}
