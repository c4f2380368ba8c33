// REST client for /api/: JSON in and out, cookie session, one error type.

export class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
        super(message);
        this.status = status;
        this.code = code;
        this.retryAfter = retryAfter;
    }

    // "email: must be a valid email address" -> { field: "email", text: "must be ..." }
    get field() {
        const m = /^([A-Za-z][\w.]*):\s*(.+)$/.exec(this.message || "");
        return m ? { name: m[1], text: m[2] } : null;
    }
}

export function describe(err) {
    if (!(err instanceof ApiError)) {
        return "Something went wrong. Please try again.";
    }
    if (err.status === 0) {
        return "Can't reach Orbis. Check your connection and try again.";
    }
    if (err.status === 429) {
        return "Too many requests." + (err.retryAfter ? ` Try again in ${err.retryAfter} s.` : " Try again shortly.");
    }
    if (err.status === 503) {
        return "A service Orbis depends on is temporarily unavailable. Please try again in a moment.";
    }
    if (err.status >= 500) {
        return "Orbis had a problem handling that request. Please try again.";
    }
    return err.message || "Request failed.";
}

let onUnauthorized = null;

export function setUnauthorizedHandler(fn) {
    onUnauthorized = fn;
}

export async function request(method, path, body, { auth = true } = {}) {
    const init = {
        method,
        credentials: "same-origin",
        headers: { Accept: "application/json" }
    };
    if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
    }
    let res;
    try {
        res = await fetch("/api" + path, init);
    } catch {
        throw new ApiError(0, "network", "network error");
    }
    if (res.status === 204) {
        return null;
    }
    let data = null;
    const text = await res.text();
    if (text) {
        try {
            data = JSON.parse(text);
        } catch {
            data = null;
        }
    }
    if (!res.ok) {
        const e = data && data.error ? data.error : {};
        const err = new ApiError(res.status, e.code || "http_" + res.status,
            e.message || res.statusText || "request failed", Number(res.headers.get("Retry-After")) || 0);
        if (res.status === 401 && auth && onUnauthorized) {
            onUnauthorized(err);
        }
        throw err;
    }
    if (data === null) {
        throw new ApiError(res.status, "bad_response", "the server sent an unexpected response");
    }
    return data;
}

const qs = (params) => {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
        if (v !== undefined && v !== null && v !== "") {
            u.set(k, v);
        }
    }
    const s = u.toString();
    return s ? "?" + s : "";
};

let catalogPromise = null;

export const api = {
    signup: (b) => request("POST", "/auth/signup", b, { auth: false }),
    login: (b) => request("POST", "/auth/login", b, { auth: false }),
    logout: () => request("POST", "/auth/logout", undefined, { auth: false }),
    me: () => request("GET", "/auth/me", undefined, { auth: false }),

    tenant: () => request("GET", "/tenants/me"),
    updateTenant: (b) => request("PUT", "/tenants/me", b),

    plans: () => request("GET", "/plans", undefined, { auth: false }),
    catalog() {
        if (!catalogPromise) {
            catalogPromise = request("GET", "/catalog").catch((e) => {
                catalogPromise = null;
                throw e;
            });
        }
        return catalogPromise;
    },

    agents: (p) => request("GET", "/agents" + qs(p)),
    async allAgents() {
        const out = [];
        let cursor = null;
        for (let i = 0; i < 20; i++) {
            const page = await request("GET", "/agents" + qs({ limit: 100, cursor }));
            out.push(...page.items);
            cursor = page.nextCursor;
            if (!cursor) {
                break;
            }
        }
        return out;
    },
    agent: (id) => request("GET", "/agents/" + encodeURIComponent(id)),
    createAgent: (b) => request("POST", "/agents", b),
    updateAgent: (id, b) => request("PUT", "/agents/" + encodeURIComponent(id), b),
    deleteAgent: (id) => request("DELETE", "/agents/" + encodeURIComponent(id)),

    keys: () => request("GET", "/api-keys"),
    createKey: (b) => request("POST", "/api-keys", b),
    updateKey: (id, b) => request("PUT", "/api-keys/" + encodeURIComponent(id), b),
    revokeKey: (id) => request("DELETE", "/api-keys/" + encodeURIComponent(id)),

    conversations: (p) => request("GET", "/conversations" + qs(p)),
    conversation: (id) => request("GET", "/conversations/" + encodeURIComponent(id))
};
