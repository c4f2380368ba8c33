#!/usr/bin/env node
// A stand-in for the Orbis server, for front-end work while the backend is
// being written: serves html/ at / and widget/widget.js at /widget.js, keeps
// the REST API of the contract in memory, and answers /stream in echo mode
// (audio sent back at 24 kHz, fake transcripts). No dependencies.
//
//   node t/browser/mock/server.mjs            # port 8090 (MOCK_PORT)
//   MOCK_FAIL=plans,agents node ...           # those routes answer 503
//   MOCK_DELAY_MS=400 node ...                # slow API, to see loading states
//
// Typing "/drop", "/goaway", "/close 4008" or "/interrupt" in the widget's
// text box makes /stream drop the socket, close with 1001 or that code, or
// send "interrupted", to exercise the widget's failure handling.
//
// It is not the product: it checks only what the front end relies on.

import http from "node:http";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, "../../..");
const PORT = Number(process.env.MOCK_PORT ?? 8090);
const HOST = process.env.MOCK_HOST || "127.0.0.1";
const DELAY = Number(process.env.MOCK_DELAY_MS || 0);
const FAIL = new Set((process.env.MOCK_FAIL || "").split(",").filter(Boolean));

const VOICES = ["Achernar", "Achird", "Algenib", "Algieba", "Alnilam", "Aoede", "Autonoe",
    "Callirrhoe", "Charon", "Despina", "Enceladus", "Erinome", "Fenrir", "Gacrux", "Iapetus",
    "Kore", "Laomedeia", "Leda", "Orus", "Puck", "Pulcherrima", "Rasalgethi", "Sadachbia",
    "Sadaltager", "Schedar", "Sulafat", "Umbriel", "Vindemiatrix", "Zephyr", "Zubenelgenubi"];
const TOOLS = [
    { name: "lookup_order", description: "Look up the status of an order by its number" },
    { name: "book_appointment", description: "Book an appointment in the business calendar" },
    { name: "transfer_to_human", description: "Hand the caller over to a person" },
    { name: "end_call", description: "End the conversation politely" }
];
const LANGS = ["en-US", "en-GB", "en-IN", "de-DE", "fr-FR", "es-ES", "es-US", "it-IT", "pt-BR",
    "nl-NL", "ja-JP", "ko-KR", "hi-IN"];
const PLANS = [
    { id: "free", name: "Free", priceMonthlyCents: 0, conversationsPerMonth: 100, rateLimitPerMinute: 10 },
    { id: "starter", name: "Starter", priceMonthlyCents: 2900, conversationsPerMonth: 1000, rateLimitPerMinute: 60 },
    { id: "pro", name: "Pro", priceMonthlyCents: 9900, conversationsPerMonth: 10000, rateLimitPerMinute: 300 },
    { id: "enterprise", name: "Enterprise", priceMonthlyCents: null, conversationsPerMonth: null, rateLimitPerMinute: 1000 }
];

const db = { users: [], tenants: [], sessions: new Map(), agents: [], keys: [], convs: [] };
const rid = (p) => p + "_" + crypto.randomBytes(8).toString("hex");
const now = () => new Date().toISOString();

class HttpError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}
const bad = (m) => new HttpError(400, "invalid_request", m);

function send(res, status, body, headers = {}) {
    const data = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
    res.end(data);
}

function readBody(req) {
    return new Promise((resolve, reject) => {
        let s = "";
        req.on("data", (c) => { s += c; if (s.length > 1e6) reject(bad("body too large")); });
        req.on("end", () => {
            if (!s) return resolve({});
            try { resolve(JSON.parse(s)); } catch { reject(bad("body: must be JSON")); }
        });
    });
}

function cookies(req) {
    const out = {};
    (req.headers.cookie || "").split(";").forEach((p) => {
        const i = p.indexOf("=");
        if (i > 0) out[p.slice(0, i).trim()] = decodeURIComponent(p.slice(i + 1).trim());
    });
    return out;
}

const pub = (u) => ({ id: u.id, email: u.email, name: u.name, role: u.role });
const keyOut = (k) => ({ id: k.id, name: k.name, kind: k.kind, prefix: k.prefix, last4: k.last4,
    allowedOrigins: k.allowedOrigins, agentIds: k.agentIds, createdAt: k.createdAt });

function checkOrigins(list, field) {
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw bad(field + ": must be an array");
    return list.map((o) => {
        let u;
        try { u = new URL(o); } catch { throw bad(field + ": invalid origin " + JSON.stringify(o)); }
        if (!/^https?:$/.test(u.protocol) || u.origin !== o) throw bad(field + ": invalid origin " + JSON.stringify(o));
        return o;
    });
}

function page(items, q) {
    const limit = Math.min(Math.max(Number(q.get("limit")) || 20, 1), 100);
    const start = Number(q.get("cursor") || 0);
    const slice = items.slice(start, start + limit);
    return { items: slice, nextCursor: start + limit < items.length ? String(start + limit) : null };
}

function agentFields(b, partial) {
    const a = {};
    if (!partial || b.name !== undefined) {
        if (typeof b.name !== "string" || !b.name.trim()) throw bad("name: is required");
        a.name = b.name.trim();
    }
    if (!partial || b.systemPrompt !== undefined) {
        if (typeof b.systemPrompt !== "string" || !b.systemPrompt.trim()) throw bad("systemPrompt: is required");
        a.systemPrompt = b.systemPrompt;
    }
    if (!partial || b.voice !== undefined) {
        if (!VOICES.includes(b.voice)) throw bad("voice: must be one of the catalog voices");
        a.voice = b.voice;
    }
    if (b.greeting !== undefined) a.greeting = String(b.greeting);
    if (b.language !== undefined) {
        if (!LANGS.includes(b.language)) throw bad("language: unsupported language");
        a.language = b.language;
    }
    if (b.tools !== undefined) {
        if (!Array.isArray(b.tools) || b.tools.some((t) => !TOOLS.find((x) => x.name === t)))
            throw bad("tools: unknown tool");
        a.tools = b.tools;
    }
    return a;
}

async function api(req, res, url) {
    const p = url.pathname.replace(/^\/api/, "");
    const m = req.method;
    const q = url.searchParams;
    if (DELAY) await new Promise((r) => setTimeout(r, DELAY));
    const route = p.split("/")[1] || "";
    if (FAIL.has(route)) throw new HttpError(503, "database_unavailable", "the database is unavailable");

    if (m !== "GET" && m !== "HEAD") {
        const origin = req.headers.origin;
        if (origin && origin !== `http://${req.headers.host}`) throw new HttpError(403, "csrf", "cross-origin request refused");
    }

    const sess = db.sessions.get(cookies(req).orbis_session);
    const user = sess && db.users.find((u) => u.id === sess);
    const tenant = user && db.tenants.find((t) => t.id === user.tenantId);
    const need = () => { if (!user) throw new HttpError(401, "unauthorized", "sign in first"); };
    const login = (u) => {
        const s = crypto.randomBytes(24).toString("hex");
        db.sessions.set(s, u.id);
        return { "Set-Cookie": `orbis_session=${s}; HttpOnly; SameSite=Lax; Path=/` };
    };
    const who = (u) => ({ token: "mock-token", user: pub(u), tenant: db.tenants.find((t) => t.id === u.tenantId) });

    if (p === "/health") return send(res, 200, { status: "ok", mock: true });
    if (p === "/plans" && m === "GET") return send(res, 200, { items: PLANS });
    if (p === "/catalog" && m === "GET") { need(); return send(res, 200, { voices: VOICES, tools: TOOLS, languages: LANGS }); }

    if (p === "/auth/signup" && m === "POST") {
        const b = await readBody(req);
        if (typeof b.email !== "string" || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(b.email))
            throw bad("email: must be a valid email address");
        if (typeof b.password !== "string" || b.password.length < 10 || !/[a-z]/i.test(b.password) || !/[^a-z]/i.test(b.password))
            throw bad("password: must be at least 10 characters with a letter and a non-letter");
        if (typeof b.tenantName !== "string" || !b.tenantName.trim()) throw bad("tenantName: is required");
        if (db.users.find((u) => u.email === b.email.toLowerCase())) throw new HttpError(409, "conflict", "email: already registered");
        const t = { id: rid("ten"), name: b.tenantName.trim(), plan: "free", billingEmail: b.email, allowedOrigins: [] };
        const u = { id: rid("usr"), email: b.email.toLowerCase(), name: b.name || "", role: "owner", password: b.password, tenantId: t.id };
        db.tenants.push(t); db.users.push(u);
        return send(res, 201, who(u), login(u));
    }
    if (p === "/auth/login" && m === "POST") {
        const b = await readBody(req);
        const u = db.users.find((x) => x.email === String(b.email || "").toLowerCase() && x.password === b.password);
        if (!u) throw new HttpError(401, "invalid_credentials", "wrong email or password");
        return send(res, 200, who(u), login(u));
    }
    if (p === "/auth/logout" && m === "POST") {
        db.sessions.delete(cookies(req).orbis_session);
        res.writeHead(204, { "Set-Cookie": "orbis_session=; Max-Age=0; Path=/" });
        return res.end();
    }
    if (p === "/auth/me" && m === "GET") { need(); return send(res, 200, { user: pub(user), tenant }); }

    need();
    let mm;
    if (p === "/tenants/me") {
        if (m === "GET") return send(res, 200, tenant);
        if (m === "PUT") {
            const b = await readBody(req);
            if (b.name !== undefined) { if (!String(b.name).trim()) throw bad("name: is required"); tenant.name = String(b.name).trim(); }
            if (b.billingEmail !== undefined) {
                if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(b.billingEmail)) throw bad("billingEmail: must be a valid email address");
                tenant.billingEmail = b.billingEmail;
            }
            if (b.allowedOrigins !== undefined) tenant.allowedOrigins = checkOrigins(b.allowedOrigins, "allowedOrigins");
            return send(res, 200, tenant);
        }
    }
    const mine = (list) => list.filter((x) => x.tenantId === tenant.id);
    const strip = ({ tenantId, ...rest }) => rest;
    if (p === "/agents") {
        if (m === "GET") {
            const pg = page(mine(db.agents), q);
            return send(res, 200, { items: pg.items.map(strip), nextCursor: pg.nextCursor });
        }
        if (m === "POST") {
            const b = await readBody(req);
            const a = { id: rid("agt"), tenantId: tenant.id, greeting: "", language: "en-US", tools: [],
                ...agentFields(b, false), createdAt: now(), updatedAt: now() };
            db.agents.push(a);
            return send(res, 201, strip(a));
        }
    }
    if ((mm = p.match(/^\/agents\/([\w-]+)$/))) {
        const a = mine(db.agents).find((x) => x.id === mm[1]);
        if (!a) throw new HttpError(404, "not_found", "no such agent");
        if (m === "GET") return send(res, 200, strip(a));
        if (m === "PUT") { Object.assign(a, agentFields(await readBody(req), true), { updatedAt: now() }); return send(res, 200, strip(a)); }
        if (m === "DELETE") { db.agents.splice(db.agents.indexOf(a), 1); res.writeHead(204); return res.end(); }
    }
    if (p === "/api-keys") {
        if (m === "GET") return send(res, 200, { items: mine(db.keys).map(keyOut) });
        if (m === "POST") {
            const b = await readBody(req);
            if (typeof b.name !== "string" || !b.name.trim()) throw bad("name: is required");
            if (b.kind !== "publishable" && b.kind !== "secret") throw bad("kind: must be publishable or secret");
            const agentIds = b.agentIds === undefined ? [] : b.agentIds;
            if (!Array.isArray(agentIds) || agentIds.some((id) => !mine(db.agents).find((a) => a.id === id)))
                throw bad("agentIds: unknown agent");
            const pre = b.kind === "publishable" ? "pk_live_" : "sk_live_";
            const key = pre + crypto.randomBytes(18).toString("base64url");
            const k = { id: rid("key"), tenantId: tenant.id, name: b.name.trim(), kind: b.kind, prefix: pre,
                last4: key.slice(-4), key, allowedOrigins: checkOrigins(b.allowedOrigins, "allowedOrigins"),
                agentIds, createdAt: now() };
            db.keys.push(k);
            return send(res, 201, { ...keyOut(k), key });
        }
    }
    if ((mm = p.match(/^\/api-keys\/([\w-]+)$/))) {
        const k = mine(db.keys).find((x) => x.id === mm[1]);
        if (!k) throw new HttpError(404, "not_found", "no such key");
        if (m === "PUT") {
            const b = await readBody(req);
            if (b.name !== undefined) k.name = String(b.name);
            if (b.allowedOrigins !== undefined) k.allowedOrigins = checkOrigins(b.allowedOrigins, "allowedOrigins");
            if (b.agentIds !== undefined) k.agentIds = b.agentIds;
            return send(res, 200, keyOut(k));
        }
        if (m === "DELETE") { db.keys.splice(db.keys.indexOf(k), 1); res.writeHead(204); return res.end(); }
    }
    if (p === "/conversations" && m === "GET") {
        let list = mine(db.convs).slice().reverse();
        if (q.get("agent")) list = list.filter((c) => c.agentId === q.get("agent"));
        for (const f of ["from", "to"]) {
            const v = q.get(f);
            if (v && isNaN(Date.parse(v))) throw bad(f + ": must be an ISO date");
        }
        if (q.get("from")) list = list.filter((c) => c.startedAt >= q.get("from"));
        if (q.get("to")) list = list.filter((c) => c.startedAt.slice(0, 10) <= q.get("to"));
        const pg = page(list, q);
        return send(res, 200, { items: pg.items.map(({ tenantId, turns, toolCalls, ...r }) => r), nextCursor: pg.nextCursor });
    }
    if ((mm = p.match(/^\/conversations\/([\w-]+)$/)) && m === "GET") {
        const c = mine(db.convs).find((x) => x.id === mm[1]);
        if (!c) throw new HttpError(404, "not_found", "no such conversation");
        return send(res, 200, strip(c));
    }
    throw new HttpError(404, "not_found", `no such endpoint: ${m} ${url.pathname}`);
}

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "application/javascript", ".mjs": "application/javascript",
    ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon", ".json": "application/json" };

function serveStatic(req, res, url) {
    let file;
    if (url.pathname === "/widget.js") file = path.join(ROOT, "widget/widget.js");
    else {
        const rel = decodeURIComponent(url.pathname).replace(/\/$/, "/index.html");
        file = path.join(ROOT, "html", path.normalize(rel));
        if (!file.startsWith(path.join(ROOT, "html"))) file = null;
    }
    fs.readFile(file || "/nonexistent", (err, data) => {
        if (err) {
            res.writeHead(404, { "Content-Type": "text/html" });
            return res.end("<h1>404 Not Found</h1>");
        }
        res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] || "application/octet-stream", "Cache-Control": "no-cache" });
        res.end(data);
    });
}

const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (url.pathname.startsWith("/api/")) {
        try { await api(req, res, url); } catch (e) {
            if (!(e instanceof HttpError)) { console.error(e); e = new HttpError(500, "internal", "internal error"); }
            send(res, e.status, { error: { code: e.code, message: e.message } });
        }
        return;
    }
    serveStatic(req, res, url);
});

// ---- WebSocket (RFC 6455), just enough for /stream ----------------------

function wsFrame(op, payload) {
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | op, n]) :
        n < 65536 ? Buffer.from([0x80 | op, 126, n >> 8, n & 255]) :
            (() => { const b = Buffer.alloc(10); b[0] = 0x80 | op; b[1] = 127; b.writeBigUInt64BE(BigInt(n), 2); return b; })();
    return Buffer.concat([head, payload]);
}

function wsConn(sock, onMessage, onClose) {
    let buf = Buffer.alloc(0), frag = null, closed = false;
    const c = {
        text: (o) => !closed && sock.write(wsFrame(1, Buffer.from(JSON.stringify(o)))),
        binary: (b) => !closed && sock.write(wsFrame(2, b)),
        close: (code, reason = "") => {
            if (closed) return;
            closed = true;
            const p = Buffer.alloc(2 + Buffer.byteLength(reason));
            p.writeUInt16BE(code, 0); p.write(reason, 2);
            sock.write(wsFrame(8, p));
            setTimeout(() => sock.end(), 100);
            onClose(code);
        }
    };
    sock.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
            if (buf.length < 2) return;
            const fin = buf[0] & 0x80, op = buf[0] & 15, masked = buf[1] & 0x80;
            let len = buf[1] & 127, off = 2;
            if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
            else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
            const need = off + (masked ? 4 : 0) + len;
            if (buf.length < need) return;
            let payload = buf.subarray(off + (masked ? 4 : 0), need);
            if (masked) {
                const mask = buf.subarray(off, off + 4);
                payload = Buffer.from(payload);
                for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
            }
            buf = buf.subarray(need);
            if (op === 8) {
                const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
                if (!closed) { closed = true; sock.write(wsFrame(8, payload.subarray(0, 2))); sock.end(); onClose(code); }
                return;
            }
            if (op === 9) { sock.write(wsFrame(10, payload)); continue; }
            if (op === 10) continue;
            if (op === 0) frag.parts.push(payload); else frag = { op, parts: [payload] };
            if (fin) { const all = Buffer.concat(frag.parts); onMessage(frag.op, all); frag = null; }
        }
    });
    sock.on("close", () => { if (!closed) { closed = true; onClose(1006); } });
    sock.on("error", () => {});
    return c;
}

function upsample16to24(pcm) {
    const n = Math.floor(pcm.length / 2), inp = new Int16Array(n);
    for (let i = 0; i < n; i++) inp[i] = pcm.readInt16LE(i * 2);
    const outN = Math.floor(n * 1.5), out = Buffer.alloc(outN * 2);
    for (let j = 0; j < outN; j++) {
        const t = j / 1.5, i = Math.floor(t), f = t - i;
        const a = inp[i] || 0, b = inp[Math.min(i + 1, n - 1)] || 0;
        out.writeInt16LE(Math.round(a + (b - a) * f), j * 2);
    }
    return out;
}

server.on("upgrade", (req, sock) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    const wkey = req.headers["sec-websocket-key"];
    if (url.pathname !== "/stream" || !wkey) { sock.end("HTTP/1.1 404 Not Found\r\n\r\n"); return; }
    const accept = crypto.createHash("sha1").update(wkey + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
    sock.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`);
    sock.setNoDelay(true);

    const agent = db.agents.find((a) => a.id === url.searchParams.get("agent"));
    const key = db.keys.find((k) => k.key === url.searchParams.get("key"));
    const origin = req.headers.origin || "";
    let conv = null, utter = 0, silent = 0, heard = 0, nTurn = 0, lastInterim = 0;
    const c = wsConn(sock, (op, data) => {
        if (!conv) return;
        if (op === 2) {
            conv.audioSecondsIn += data.length / 2 / 16000;
            const out = upsample16to24(data);
            conv.audioSecondsOut += out.length / 2 / 24000;
            c.binary(out);
            let sq = 0;
            for (let i = 0; i + 1 < data.length; i += 2) { const v = data.readInt16LE(i); sq += v * v; }
            const rms = Math.sqrt(sq / (data.length / 2)), ms = data.length / 32;
            if (rms > 300) {
                utter += ms; silent = 0; heard += ms;
                if (utter - lastInterim >= 400) {
                    lastInterim = utter;
                    c.text({ type: "transcript", role: "user", text: `(speaking… ${(heard / 1000).toFixed(1)} s)`, final: false });
                }
            } else if (utter > 0) {
                silent += ms;
                if (silent >= 500) {
                    nTurn++;
                    const said = `(echo) utterance ${nTurn}, ${(heard / 1000).toFixed(1)} s of speech`;
                    const reply = `I heard about ${(heard / 1000).toFixed(1)} seconds of audio.`;
                    c.text({ type: "transcript", role: "user", text: said, final: true });
                    c.text({ type: "transcript", role: "agent", text: reply.slice(0, 10), final: false });
                    c.text({ type: "transcript", role: "agent", text: reply, final: true });
                    c.text({ type: "turn_complete" });
                    conv.turns.push({ role: "user", text: said, at: now() }, { role: "agent", text: reply, at: now() });
                    utter = silent = heard = lastInterim = 0;
                }
            }
        } else {
            let msg;
            try { msg = JSON.parse(data.toString()); } catch { return; }
            if (msg.type === "end") { conv.endReason = "client_hangup"; c.close(1000, "bye"); }
            // Test hooks for the widget's failure paths (mock only).
            if (msg.type === "text" && msg.text === "/drop") return sock.destroy();
            if (msg.type === "text" && msg.text === "/goaway") return c.close(1001, "going away");
            if (msg.type === "text" && /^\/close \d+$/.test(msg.text)) return c.close(Number(msg.text.slice(7)), "test");
            if (msg.type === "text" && msg.text === "/interrupt") return c.text({ type: "interrupted" });
            if (msg.type === "text") {
                const reply = `You typed: ${msg.text}`;
                conv.turns.push({ role: "user", text: msg.text, at: now() }, { role: "agent", text: reply, at: now() });
                c.text({ type: "transcript", role: "agent", text: reply, final: true });
                c.text({ type: "turn_complete" });
            }
        }
    }, () => {
        if (!conv) return;
        conv.endedAt = now();
        conv.durationSec = Math.round((Date.parse(conv.endedAt) - Date.parse(conv.startedAt)) / 1000);
        conv.endReason = conv.endReason || "disconnected";
        conv.turnCount = conv.turns.length;
        conv.audioSecondsIn = Math.round(conv.audioSecondsIn * 10) / 10;
        conv.audioSecondsOut = Math.round(conv.audioSecondsOut * 10) / 10;
        db.convs.push(conv);
    });

    if (!agent) return c.close(4000, "unknown agent");
    if (!key || key.kind !== "publishable" || key.tenantId !== agent.tenantId ||
        !key.allowedOrigins.includes(origin) || (key.agentIds.length && !key.agentIds.includes(agent.id)))
        return c.close(4003, "key or origin refused");
    conv = { id: rid("cnv"), tenantId: agent.tenantId, agentId: agent.id, agentName: agent.name, startedAt: now(),
        endedAt: null, durationSec: 0, endReason: null, audioSecondsIn: 0, audioSecondsOut: 0, resumptions: 0,
        turnCount: 0, turns: [], toolCalls: agent.tools.length ? [{ name: agent.tools[0], status: "ok",
            args: { orderId: "A-1042" }, result: { status: "shipped", eta: "tomorrow" }, startedAt: now(), finishedAt: now() }] : [] };
    c.text({ type: "ready", sessionId: rid("ses"), mode: "echo", inputRate: 16000, outputRate: 24000 });
    if (agent.greeting) {
        c.text({ type: "transcript", role: "agent", text: agent.greeting, final: true });
        conv.turns.push({ role: "agent", text: agent.greeting, at: now() });
    }
});

server.listen(PORT, HOST, () => {
    console.log(`orbis mock on http://${HOST}:${server.address().port}`);
});
