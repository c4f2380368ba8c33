// Pieces shared by the dashboard views.

import { h } from "../ui.js";

export function pageHead(title, text, ...actions) {
    return h("div", { class: "page-head" },
        h("div", {}, h("h1", { text: title }), text ? h("p", { text }) : null),
        actions.length ? h("div", { class: "form-actions" }, ...actions) : null);
}

// A placeholder the view fills once its data is in (loading / error / list).
export function slot() {
    return h("div", { class: "slot" });
}

let uid = 0;
export const nextId = (p) => `${p}-${++uid}`;

// A labelled form field: field({label, input, hint}).
export function field({ label, input, hint, optional }) {
    const id = input.id || (input.id = nextId("f"));
    const kids = [h("label", { for: id }, label, optional ? h("span", { class: "muted", text: " (optional)" }) : null), input];
    if (hint) {
        const hid = id + "-hint";
        kids.push(h("p", { class: "hint", id: hid, text: hint }));
        input.setAttribute("aria-describedby", hid);
    }
    return h("div", { class: "field" }, ...kids);
}
