#!/usr/bin/env node
// End-to-end browser test of the Orbis dashboard and widget (see README.md).
//
//   ORBIS_URL=http://127.0.0.1:8080 node t/browser/e2e.mjs
//
// Environment:
//   ORBIS_URL        Orbis server (dashboard, /api/, /widget.js, /stream). Required.
//   ORBIS_SITE_URL   a second origin serving t/browser/site/ (index.html); when
//                    unset the script serves that directory itself on a free
//                    127.0.0.1 port.
//   ORBIS_ARTIFACTS  where screenshots and summary.json go (default
//                    t/artifacts/browser under the repository).
//   ORBIS_FAKE_WAV   the fake microphone (WAV); default: made with espeak-ng
//                    (and sox when present) into the artifacts dir.
//   ORBIS_CHROMIUM   browser binary (default /usr/bin/chromium).
//   ORBIS_E2E_MODE   "full" (default) or "static": only render the public pages
//                    and the app shell, for a server without the API.
//   ORBIS_E2E_TIMEOUT_S  overall watchdog (default 300).
//
// Output is TAP (prove can run it) followed by "browser: N passed, N failed".
// Exit: 0 all passed, 1 a check failed, 2 could not run (usage, no
// playwright-core, browser would not start, server unreachable).

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import zlib from "node:zlib";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "../..");
const BASE = (process.env.ORBIS_URL || "").replace(/\/+$/, "");
const MODE = process.env.ORBIS_E2E_MODE || "full";
const ART = path.resolve(process.env.ORBIS_ARTIFACTS || path.join(REPO, "t/artifacts/browser"));
const CHROMIUM = process.env.ORBIS_CHROMIUM || "/usr/bin/chromium";
const WATCHDOG_S = Number(process.env.ORBIS_E2E_TIMEOUT_S || 300);
const GZIP_LIMIT = 50 * 1024;

let passed = 0;
let failed = 0;
let testNo = 0;
let shotNo = 0;
const summary = { base: BASE, mode: MODE, results: [], widget: {} };

function die(msg) {
    console.log("Bail out! " + msg);
    console.log(`browser: ${passed} passed, ${failed + 1} failed`);
    process.exit(2);
}

if (!BASE || !/^https?:\/\//.test(BASE)) {
    console.error("usage: ORBIS_URL=http://127.0.0.1:8080 [ORBIS_SITE_URL=...] [ORBIS_ARTIFACTS=dir] node t/browser/e2e.mjs");
    process.exit(2);
}
if (!["full", "static"].includes(MODE)) {
    die("ORBIS_E2E_MODE must be full or static");
}

function report(ok, name, diag) {
    testNo++;
    if (ok) {
        passed++;
    } else {
        failed++;
    }
    console.log(`${ok ? "ok" : "not ok"} ${testNo} - ${name}`);
    if (diag) {
        for (const line of String(diag).split("\n")) {
            console.log("# " + line);
        }
    }
    summary.results.push({ name, ok, diag: diag || undefined });
}

function assert(cond, msg) {
    if (!cond) {
        throw new Error(msg);
    }
}

// ---- playwright-core ------------------------------------------------------

async function loadPlaywright() {
    try {
        return await import("playwright-core");
    } catch {
        /* not next to the script: try NODE_PATH and PLAYWRIGHT_DIR */
    }
    const require = createRequire(import.meta.url);
    const dirs = [process.env.PLAYWRIGHT_DIR, ...(process.env.NODE_PATH || "").split(path.delimiter)]
        .filter(Boolean);
    for (const d of dirs) {
        try {
            return require(require.resolve("playwright-core", { paths: [d, path.dirname(d)] }));
        } catch {
            /* next */
        }
    }
    return null;
}

// ---- the second origin ----------------------------------------------------

function serveSite() {
    const root = path.join(HERE, "site");
    const srv = http.createServer((req, res) => {
        const u = new URL(req.url, "http://x");
        const rel = u.pathname === "/" ? "/index.html" : decodeURIComponent(u.pathname);
        const file = path.join(root, path.normalize(rel));
        if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
            res.writeHead(404, { "Content-Type": "text/plain" });
            res.end("not found");
            return;
        }
        res.writeHead(200, { "Content-Type": file.endsWith(".html") ? "text/html; charset=utf-8" : "application/octet-stream" });
        fs.createReadStream(file).pipe(res);
    });
    return new Promise((resolve) => srv.listen(0, "127.0.0.1", () =>
        resolve({ srv, url: `http://127.0.0.1:${srv.address().port}` })));
}

// ---- the fake microphone --------------------------------------------------

function has(cmd) {
    try {
        execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

// Speech-like fallback: voiced bursts (150 Hz with harmonics, syllable-rate
// envelope) separated by silence, 48 kHz mono PCM16.
function synthWav(file) {
    const rate = 48000;
    const secs = 6;
    const n = rate * secs;
    const data = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) {
        const t = i / rate;
        const inBurst = (t % 3) < 1.8;
        const env = inBurst ? Math.abs(Math.sin(Math.PI * 4 * t)) : 0;
        let v = 0;
        for (let k = 1; k <= 8; k++) {
            v += Math.sin(2 * Math.PI * 150 * k * t) / k;
        }
        data.writeInt16LE(Math.round(v * env * 6000), i * 2);
    }
    const h = Buffer.alloc(44);
    h.write("RIFF", 0);
    h.writeUInt32LE(36 + data.length, 4);
    h.write("WAVEfmt ", 8);
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(1, 20);
    h.writeUInt16LE(1, 22);
    h.writeUInt32LE(rate, 24);
    h.writeUInt32LE(rate * 2, 28);
    h.writeUInt16LE(2, 32);
    h.writeUInt16LE(16, 34);
    h.write("data", 36);
    h.writeUInt32LE(data.length, 40);
    fs.writeFileSync(file, Buffer.concat([h, data]));
}

function makeWav() {
    if (process.env.ORBIS_FAKE_WAV) {
        assert(fs.existsSync(process.env.ORBIS_FAKE_WAV), "ORBIS_FAKE_WAV does not exist");
        return path.resolve(process.env.ORBIS_FAKE_WAV);
    }
    const out = path.join(ART, "fake-mic.wav");
    const text = "Hello there. I would like to buy a mountain bike for my daughter. What would you recommend?";
    if (has("espeak-ng")) {
        const raw = path.join(ART, "fake-mic-raw.wav");
        execFileSync("espeak-ng", ["-w", raw, text]);
        if (has("sox")) {
            execFileSync("sox", [raw, "-r", "48000", "-c", "1", "-b", "16", out, "pad", "0.3", "1.2"]);
            fs.unlinkSync(raw);
        } else {
            fs.renameSync(raw, out);
        }
    } else {
        synthWav(out);
    }
    return out;
}

// ---- helpers --------------------------------------------------------------

async function shot(page, name, opts = {}) {
    const file = path.join(ART, `${String(++shotNo).padStart(2, "0")}-${name}.png`);
    try {
        await page.screenshot({ path: file, fullPage: opts.fullPage ?? false });
    } catch (e) {
        console.log(`# screenshot ${name} failed: ${e.message}`);
    }
    return file;
}

async function poll(fn, { timeout = 15000, interval = 250, what = "condition" } = {}) {
    const end = Date.now() + timeout;
    let last;
    while (Date.now() < end) {
        last = await fn();
        if (last) {
            return last;
        }
        await new Promise((r) => setTimeout(r, interval));
    }
    throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
}

const debugOf = (page) => page.evaluate(() => (window.OrbisVoice && window.OrbisVoice._debug ? window.OrbisVoice._debug() : null));

// Count getUserMedia calls independently of the widget's own flag.
const GUM_SPY = `(() => {
    window.__gumCalls = 0;
    const md = navigator.mediaDevices;
    if (md && md.getUserMedia) {
        const orig = md.getUserMedia.bind(md);
        md.getUserMedia = (c) => { window.__gumCalls++; return orig(c); };
    }
})();`;

// ---- main -----------------------------------------------------------------

async function main() {
    fs.mkdirSync(ART, { recursive: true });
    setTimeout(() => {
        console.log(`Bail out! watchdog: still running after ${WATCHDOG_S} s`);
        console.log(`browser: ${passed} passed, ${failed + 1} failed`);
        process.exit(1);
    }, WATCHDOG_S * 1000).unref();

    const pw = await loadPlaywright();
    if (!pw) {
        die("playwright-core not found: npm install it next to this script, or set PLAYWRIGHT_DIR/NODE_PATH");
    }
    const chromium = pw.chromium || (pw.default && pw.default.chromium);

    try {
        const r = await fetch(BASE + "/");
        assert(r.status < 500, "status " + r.status);
    } catch (e) {
        die(`server not reachable at ${BASE}: ${e.message}`);
    }

    let site = null;
    let SITE = (process.env.ORBIS_SITE_URL || "").replace(/\/+$/, "");
    if (!SITE && MODE === "full") {
        site = await serveSite();
        SITE = site.url;
    }
    summary.site = SITE;

    const wav = MODE === "full" ? makeWav() : null;
    const args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"];
    if (wav) {
        args.push("--use-file-for-fake-audio-capture=" + wav);
    }
    let browser;
    try {
        browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args, timeout: 30000 });
    } catch (e) {
        die("chromium did not start: " + e.message.split("\n")[0]);
    }
    console.log(`# browser ${browser.version()}, server ${BASE}, site ${SITE || "-"}, artifacts ${ART}`);

    const t = {
        browser, site: SITE,
        async test(name, fn, { required = false } = {}) {
            try {
                const diag = await fn();
                report(true, name, typeof diag === "string" ? diag : undefined);
                return true;
            } catch (e) {
                report(false, name, e.message.split("\n").slice(0, 6).join("\n"));
                for (const p of t.pages) {
                    await shot(p, "FAIL-" + name.replace(/\W+/g, "-").slice(0, 40));
                }
                if (required) {
                    throw new Error("required step failed: " + name);
                }
                return false;
            }
        },
        pages: []
    };

    try {
        await widgetSize(t);
        await publicPages(t);
        if (MODE === "static") {
            await staticApp(t);
        } else {
            await fullFlow(t);
        }
    } catch (e) {
        console.log("# stopping: " + e.message);
    } finally {
        await browser.close().catch(() => {});
        if (site) {
            site.srv.close();
        }
    }
    console.log(`1..${testNo}`);
    fs.writeFileSync(path.join(ART, "summary.json"), JSON.stringify(summary, null, 2));
    console.log(`browser: ${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
}

async function widgetSize(t) {
    await t.test("widget.js gzipped is at most 50 KB", async () => {
        const file = path.join(REPO, "widget/widget.js");
        const src = fs.readFileSync(file);
        const gz = zlib.gzipSync(src, { level: 9 }).length;
        summary.widget.raw = src.length;
        summary.widget.gzip = gz;
        assert(gz <= GZIP_LIMIT, `widget.js is ${gz} bytes gzipped (limit ${GZIP_LIMIT})`);
        return `widget.js: ${src.length} bytes, ${gz} bytes gzipped`;
    });
    if (MODE === "full") {
        await t.test("GET /widget.js serves the widget as JavaScript", async () => {
            const r = await fetch(BASE + "/widget.js");
            assert(r.status === 200, `status ${r.status}`);
            assert(/javascript/.test(r.headers.get("content-type") || ""), "content-type " + r.headers.get("content-type"));
            const body = await r.text();
            assert(body.includes("OrbisVoice"), "body is not the widget");
        });
    }
}

async function newPage(t, ctx, { mobile = false } = {}) {
    const page = await ctx.newPage();
    if (mobile) {
        await page.setViewportSize({ width: 390, height: 844 });
    }
    page.errors = [];
    page.console = [];
    page.on("pageerror", (e) => page.errors.push(e.message));
    page.on("console", (m) => page.console.push(m.type() + ": " + m.text()));
    t.pages.push(page);
    return page;
}

async function publicPages(t) {
    const ctx = await t.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await newPage(t, ctx);
    const pages = [["/", "landing"], ["/features.html", "features"], ["/pricing.html", "pricing"],
        ["/signup.html", "signup"], ["/login.html", "login"]];
    for (const [url, name] of pages) {
        await t.test(`public page ${url} renders`, async () => {
            page.errors = [];
            const r = await page.goto(BASE + url);
            assert(r && r.status() === 200, `status ${r && r.status()}`);
            await page.locator("h1").first().waitFor({ state: "visible" });
            if (name === "pricing" || name === "landing") {
                const sel = MODE === "full" ? "[data-testid=plan-card]" :
                    "[data-testid=plan-card], [data-testid=error-state], [data-testid=empty-state]";
                await page.locator(sel).first().waitFor({ timeout: 10000 });
                if (MODE === "full") {
                    const n = await page.locator("[data-testid=plan-card]").count();
                    assert(n >= 1, "no plans shown");
                }
            }
            await shot(page, name, { fullPage: true });
            assert(page.errors.length === 0, "page errors: " + page.errors.join("; "));
        });
    }
    await t.test("landing and pricing fit a phone screen", async () => {
        const m = await newPage(t, ctx, { mobile: true });
        for (const [url, name] of [["/", "landing-mobile"], ["/pricing.html", "pricing-mobile"]]) {
            await m.goto(BASE + url);
            await m.locator("h1").first().waitFor();
            const overflow = await m.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
            await shot(m, name, { fullPage: true });
            assert(overflow <= 1, `${url} scrolls sideways by ${overflow}px at 390px`);
        }
        await m.close();
        t.pages = t.pages.filter((p) => p !== m);
    });
    await t.test("signup form validates before sending", async () => {
        await page.goto(BASE + "/signup.html");
        await page.getByTestId("signup-tenant").fill("Acme");
        await page.getByTestId("signup-email").fill("not-an-email");
        await page.getByTestId("signup-password").fill("short");
        await page.getByTestId("signup-submit").click();
        await page.locator("[data-testid=field-error]").first().waitFor();
        const n = await page.locator("[data-testid=field-error]").count();
        assert(n >= 2, `expected errors on email and password, got ${n}`);
        await shot(page, "signup-errors");
    });
    await ctx.close();
    t.pages = [];
}

async function staticApp(t) {
    const ctx = await t.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await newPage(t, ctx);
    await t.test("app shell loads without an API (error or redirect)", async () => {
        await page.goto(BASE + "/app.html");
        await page.waitForFunction(() => location.pathname === "/login.html" ||
            document.querySelector("[data-testid=error-state]"), null, { timeout: 10000 });
        await shot(page, "app-no-api");
        assert(page.errors.length === 0, "page errors: " + page.errors.join("; "));
    });
    await ctx.close();
}

async function fullFlow(t) {
    const stamp = Date.now().toString(36);
    const email = `e2e-${stamp}@example.com`;
    const password = "Orbis-e2e-" + stamp;
    const siteOrigin = new URL(t.site).origin;
    const dashCtx = await t.browser.newContext({ viewport: { width: 1280, height: 860 } });
    const dash = await newPage(t, dashCtx);
    const state = {};

    await t.test("sign up lands in the dashboard", async () => {
        await dash.goto(BASE + "/signup.html");
        await dash.getByTestId("signup-name").fill("E2E Tester");
        await dash.getByTestId("signup-tenant").fill("E2E Bikes " + stamp);
        await dash.getByTestId("signup-email").fill(email);
        await dash.getByTestId("signup-password").fill(password);
        await dash.getByTestId("signup-submit").click();
        await dash.waitForURL(/\/app\.html/, { timeout: 15000 });
        await dash.getByTestId("nav-agents").waitFor();
        await poll(async () => (await dash.getByTestId("user-email").textContent()) === email, { what: "user email in the shell" });
    }, { required: true });

    await t.test("agents page shows the empty state", async () => {
        await dash.getByTestId("empty-state").waitFor({ timeout: 10000 });
        await shot(dash, "agents-empty");
    });

    await t.test("create an agent", async () => {
        await dash.getByTestId("agents-new").click();
        await dash.getByTestId("agent-form").waitFor();
        await dash.getByTestId("agent-name").fill("E2E Concierge");
        await dash.getByTestId("agent-prompt").fill("You are the concierge of E2E Bikes. Answer briefly and kindly.");
        const voices = await dash.getByTestId("agent-voice").locator("option").allTextContents();
        assert(voices.length >= 1, "no voices in the catalog");
        state.voice = voices[Math.min(1, voices.length - 1)];
        await dash.getByTestId("agent-voice").selectOption(state.voice);
        await dash.getByTestId("agent-greeting").fill("Hi! Welcome to E2E Bikes.");
        const tool = dash.locator("[data-testid^=agent-tool-]").first();
        if (await tool.count()) {
            await tool.check();
        }
        await shot(dash, "agent-new", { fullPage: true });
        await dash.getByTestId("agent-save").click();
        const card = dash.getByTestId("agent-card").filter({ hasText: "E2E Concierge" });
        await card.waitFor({ timeout: 10000 });
        state.agentId = await card.getAttribute("data-agent-id");
        assert(state.agentId, "agent card has no id");
        await shot(dash, "agents-list");
    }, { required: true });

    await t.test("edit the agent", async () => {
        await dash.getByTestId("agent-card").first().getByTestId("agent-edit").click();
        await dash.getByTestId("agent-form").waitFor();
        assert(await dash.getByTestId("agent-voice").inputValue() === state.voice, "voice was not saved");
        await dash.getByTestId("agent-name").fill("E2E Concierge (edited)");
        await shot(dash, "agent-edit", { fullPage: true });
        await dash.getByTestId("agent-save").click();
        await dash.getByTestId("agent-card").filter({ hasText: "E2E Concierge (edited)" }).waitFor({ timeout: 10000 });
        state.agentName = "E2E Concierge (edited)";
    });

    async function createKey(name, kind, origins) {
        await dash.getByTestId("keys-new").click();
        await dash.getByTestId("key-form").waitFor();
        await dash.getByTestId("key-name").fill(name);
        await dash.getByTestId("key-kind-" + kind).check();
        if (kind === "publishable") {
            await dash.getByTestId("key-origins").fill(origins.join("\n"));
        }
        await dash.getByTestId("key-create").click();
        const v = dash.getByTestId("key-value");
        await v.waitFor({ timeout: 10000 });
        const key = (await v.textContent()).trim();
        assert(key.length >= 8, "no key shown");
        if (!state.revealShot) {
            state.revealShot = await shot(dash, "key-reveal");
        }
        await dash.getByTestId("key-done").click();
        const row = dash.getByTestId("key-row").filter({ hasText: name });
        await row.waitFor({ timeout: 10000 });
        const mask = (await row.getByTestId("key-mask").textContent()).trim();
        assert(mask.endsWith(key.slice(-4)), `list shows ${mask}, key ends in ${key.slice(-4)}`);
        assert(!(await row.textContent()).includes(key), "full key visible in the list");
        return key;
    }

    await t.test("create a publishable key for the second origin", async () => {
        await dash.getByTestId("nav-keys").click();
        await dash.locator("[data-testid=empty-state], [data-testid=keys-list]").first().waitFor();
        state.key = await createKey("E2E site", "publishable", [siteOrigin]);
    }, { required: true });

    await t.test("create a publishable key for another origin only", async () => {
        state.wrongKey = await createKey("E2E elsewhere", "publishable", ["https://not-this-site.example"]);
    });

    await t.test("edit a key's allowed origins", async () => {
        const row = dash.getByTestId("key-row").filter({ hasText: "E2E site" });
        await row.getByTestId("key-edit").click();
        await dash.getByTestId("key-origins-edit").fill(`${siteOrigin}\nhttps://extra.example`);
        await dash.getByTestId("key-save").click();
        await dash.getByTestId("key-row").filter({ hasText: "https://extra.example" }).waitFor({ timeout: 10000 });
        const text = await dash.getByTestId("key-row").filter({ hasText: "E2E site" }).textContent();
        assert(text.includes(siteOrigin), "site origin lost");
    });

    await t.test("create and revoke a secret key", async () => {
        await createKey("E2E server", "secret");
        await dash.getByTestId("key-row").filter({ hasText: "E2E server" }).getByTestId("key-revoke").click();
        await dash.getByTestId("confirm-ok").click();
        await poll(async () => (await dash.getByTestId("key-row").filter({ hasText: "E2E server" }).count()) === 0,
            { what: "revoked key to leave the list" });
        await dash.getByTestId("keys-list").waitFor();
        await shot(dash, "keys");
    });

    // ---- the widget on another origin ----
    const siteCtx = await t.browser.newContext({ viewport: { width: 1280, height: 800 } });
    await siteCtx.addInitScript(GUM_SPY);
    const siteUrl = (key) => `${t.site}/index.html?agentId=${encodeURIComponent(state.agentId)}` +
        `&apiKey=${encodeURIComponent(key)}&server=${encodeURIComponent(BASE)}`;
    const site = await newPage(t, siteCtx);

    await t.test("widget loads on the second origin and shows the consent notice first", async () => {
        await site.goto(siteUrl(state.key));
        await site.getByTestId("ov-launcher").click();
        await site.getByTestId("ov-consent").waitFor();
        await site.getByTestId("ov-start").waitFor();
        const d = await debugOf(site);
        assert(d && d.state === "idle", "state " + (d && d.state));
        assert(d.micRequested === false && await site.evaluate(() => window.__gumCalls) === 0, "microphone asked before consent");
        const font = await site.getByTestId("ov-start").evaluate((b) => getComputedStyle(b).fontFamily);
        assert(!/georgia/i.test(font), "page CSS leaked into the widget: font " + font);
        await shot(site, "widget-consent");
    }, { required: true });

    await t.test("a call streams audio both ways and shows transcripts", async () => {
        await site.getByTestId("ov-start").click();
        await poll(async () => (await debugOf(site))?.state === "live", { timeout: 20000, what: "state live" });
        const d = await poll(async () => {
            const x = await debugOf(site);
            return x && x.framesSent >= 50 && x.framesReceived >= 5 && x.transcripts.length >= 1 ? x : null;
        }, { timeout: 30000, what: "frames sent/received and a transcript" });
        summary.widget.live = d;
        await site.getByTestId("ov-transcript").locator("[data-role]").first().waitFor();
        await shot(site, "widget-live");
        return `mode ${d.mode}, sent ${d.framesSent}, received ${d.framesReceived}, transcripts ${d.transcripts.length}, queued ${d.queuedSamples}`;
    });

    await t.test("the caller's speech comes back as a final transcript", async () => {
        const d = await poll(async () => {
            const x = await debugOf(site);
            return x && x.transcripts.some((r) => r.role === "user" && r.final) ? x : null;
        }, { timeout: 20000, what: "a final user transcript" });
        const roles = d.transcripts.map((r) => r.role + (r.final ? "" : "(interim)")).join(", ");
        return "transcripts: " + roles;
    });

    await t.test("mute toggles and the call stays up", async () => {
        await site.getByTestId("ov-mute").click();
        assert(await site.getByTestId("ov-mute").getAttribute("aria-pressed") === "true", "mute not pressed");
        await site.getByTestId("ov-mute").click();
        assert(await site.getByTestId("ov-mute").getAttribute("aria-pressed") === "false", "unmute failed");
        assert((await debugOf(site)).state === "live", "call dropped");
    });

    await t.test("hang up ends the call", async () => {
        await site.getByTestId("ov-hangup").click();
        const d = await poll(async () => {
            const x = await debugOf(site);
            return x.state === "ended" ? x : null;
        }, { timeout: 5000, what: "state ended" });
        assert(d.lastCloseCode === 1000, "close code " + d.lastCloseCode);
        await site.getByTestId("ov-new").waitFor();
        await shot(site, "widget-ended");
    });

    await t.test("the widget never logs the key", async () => {
        const leaked = site.console.filter((l) => l.includes(state.key));
        assert(leaked.length === 0, "console: " + leaked.join(" | "));
        assert(site.errors.length === 0, "page errors: " + site.errors.join("; "));
    });

    await t.test("a key that does not allow the origin shows the 4003 message, no microphone", async () => {
        assert(state.wrongKey, "no second key");
        const p = await newPage(t, siteCtx);
        await p.goto(siteUrl(state.wrongKey));
        await p.getByTestId("ov-launcher").click();
        await p.getByTestId("ov-start").click();
        const err = p.getByTestId("ov-error");
        await err.waitFor({ state: "visible", timeout: 15000 });
        const text = await err.textContent();
        const d = await debugOf(p);
        await shot(p, "widget-refused");
        assert(/not allowed/i.test(text), "message: " + text);
        assert(d.lastCloseCode === 4003, "close code " + d.lastCloseCode);
        assert(d.micRequested === false, "widget says it asked for the microphone");
        assert(await p.evaluate(() => window.__gumCalls) === 0, "getUserMedia was called");
        await p.close();
        t.pages = t.pages.filter((x) => x !== p);
    });

    await t.test("widget panel fits a phone screen", async () => {
        const p = await newPage(t, siteCtx, { mobile: true });
        await p.goto(siteUrl(state.key));
        await p.getByTestId("ov-launcher").click();
        await p.getByTestId("ov-start").waitFor();
        const box = await p.getByTestId("ov-panel").boundingBox();
        await shot(p, "widget-mobile");
        assert(box && box.x >= 0 && box.x + box.width <= 390 + 1, "panel off screen: " + JSON.stringify(box));
        await p.close();
        t.pages = t.pages.filter((x) => x !== p);
    });
    await siteCtx.close();
    t.pages = t.pages.filter((x) => x === dash);

    // ---- back in the dashboard ----
    await t.test("the conversation appears with its transcript", async () => {
        await poll(async () => {
            await dash.goto(BASE + "/app.html#/conversations");
            await dash.locator("[data-testid=conv-list], [data-testid=empty-state], [data-testid=error-state]").first().waitFor();
            return (await dash.getByTestId("conv-row").count()) > 0;
        }, { timeout: 20000, interval: 1500, what: "a conversation row" });
        const row = dash.getByTestId("conv-row").first();
        assert((await row.textContent()).includes("E2E Concierge"), "row does not name the agent");
        await shot(dash, "conversations");
        await row.click();
        await dash.getByTestId("conv-transcript").waitFor({ timeout: 10000 });
        const turns = await dash.getByTestId("conv-turn").count();
        assert(turns >= 1, "no turns");
        await shot(dash, "conversation", { fullPage: true });
        return `${turns} turns`;
    });

    await t.test("conversation filters: by agent, and an empty date range", async () => {
        await dash.goto(BASE + "/app.html#/conversations");
        await dash.getByTestId("conv-list").waitFor();
        await dash.getByTestId("conv-filter-agent").locator(`option[value="${state.agentId}"]`).waitFor({ state: "attached" });
        await dash.getByTestId("conv-filter-agent").selectOption(state.agentId);
        await dash.getByTestId("conv-filter-apply").click();
        await dash.waitForURL(/agent=/);
        await dash.getByTestId("conv-row").first().waitFor();
        const future = new Date(Date.now() + 3 * 86400e3).toISOString().slice(0, 10);
        await dash.getByTestId("conv-filter-from").fill(future);
        await dash.getByTestId("conv-filter-apply").click();
        await dash.waitForURL(/from=/);
        await dash.getByTestId("empty-state").waitFor();
        await shot(dash, "conversations-filtered-empty");
    });

    await t.test("'Try this agent' opens the widget in the dashboard", async () => {
        await dash.goto(BASE + "/app.html#/agents");
        await dash.getByTestId("agent-try").first().click();
        await dash.getByTestId("try-dialog").waitFor();
        await shot(dash, "try-dialog");
        await dash.getByTestId("try-start").click();
        await dash.getByTestId("ov-panel").waitFor({ state: "visible", timeout: 10000 });
        await dash.getByTestId("ov-start").waitFor();
        await shot(dash, "try-widget");
        await dash.evaluate(() => window.OrbisVoice.destroy());
    });

    await t.test("settings save", async () => {
        await dash.getByTestId("nav-settings").click();
        await dash.getByTestId("settings-form").waitFor();
        await dash.getByTestId("settings-billing").fill(`billing-${stamp}@example.com`);
        await dash.getByTestId("settings-save").click();
        await dash.getByTestId("toast").filter({ hasText: "saved" }).waitFor();
        await shot(dash, "settings");
    });

    await t.test("dashboard fits a phone screen", async () => {
        const m = await newPage(t, dashCtx, { mobile: true });
        for (const [hash, name] of [["#/agents", "agents-mobile"], ["#/conversations", "conversations-mobile"]]) {
            await m.goto(BASE + "/app.html" + hash);
            await m.locator("h1").first().waitFor();
            await m.locator("[data-testid=agent-card], [data-testid=conv-row]").first().waitFor();
            await shot(m, name, { fullPage: true });
            const overflow = await m.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
            assert(overflow <= 1, `${hash} scrolls sideways by ${overflow}px`);
        }
        await m.close();
        t.pages = t.pages.filter((x) => x !== m);
    });

    await t.test("log out, then log back in", async () => {
        await dash.getByTestId("logout").click();
        await dash.waitForURL(/\/login\.html/);
        await dash.goto(BASE + "/app.html#/keys");
        await dash.waitForURL(/\/login\.html\?next=/, { timeout: 10000 });
        await dash.getByTestId("login-email").fill(email);
        await dash.getByTestId("login-password").fill("wrong-password-1");
        await dash.getByTestId("login-submit").click();
        await dash.getByTestId("form-error").waitFor({ state: "visible" });
        await dash.getByTestId("login-password").fill(password);
        await dash.getByTestId("login-submit").click();
        await dash.waitForURL(/\/app\.html#\/keys/, { timeout: 10000 });
        await dash.getByTestId("keys-list").waitFor();
    });

    await t.test("no script errors in the dashboard", async () => {
        assert(dash.errors.length === 0, dash.errors.join("; "));
    });
    await dashCtx.close();
}

main().catch((e) => {
    console.log("Bail out! " + (e && e.stack || e));
    process.exit(2);
});
