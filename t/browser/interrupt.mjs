// Barge-in in a real browser: the fake model streams a long answer faster
// than real time, so the widget's playback queue fills; then the fake
// sends `interrupted`, and the queue must empty at once (far faster than
// the queued audio could play out).
//
// Env: ORBIS_URL (nginx with /stream in live mode against the fake model),
// ORBIS_SITE_URL (the second origin serving t/browser/site), ORBIS_AGENT,
// ORBIS_KEY (publishable, allowing the site origin), ORBIS_FAKE_WAV (the
// microphone), ORBIS_ARTIFACTS, ORBIS_CHROMIUM.  Prints TAP.

import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "package.json"));
const { chromium } = require("playwright-core");

const URL_ = process.env.ORBIS_URL.replace(/\/+$/, "");
const SITE = process.env.ORBIS_SITE_URL.replace(/\/+$/, "");
const ART = process.env.ORBIS_ARTIFACTS || path.join(here, "..", "artifacts", "browser");
let n = 0;
let failed = 0;

function ok(cond, name, why) {
    n++;
    if (!cond) {
        failed++;
    }
    console.log(`${cond ? "ok" : "not ok"} ${n} - ${name}`);
    if (!cond && why) {
        console.log(`# ${why}`);
    }
}

async function poll(fn, timeout, interval = 20) {
    const end = Date.now() + timeout;
    for (;;) {
        const v = await fn();
        if (v || Date.now() > end) {
            return v;
        }
        await new Promise((r) => setTimeout(r, interval));
    }
}

const browser = await chromium.launch({
    executablePath: process.env.ORBIS_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        "--use-file-for-fake-audio-capture=" + process.env.ORBIS_FAKE_WAV],
});

try {
    const page = await browser.newPage();
    const q = new URLSearchParams({ agentId: process.env.ORBIS_AGENT,
        apiKey: process.env.ORBIS_KEY, server: URL_ });
    await page.goto(`${SITE}/index.html?${q}`);
    await page.getByTestId("ov-launcher").click();
    await page.getByTestId("ov-start").click();

    const debug = () => page.evaluate(() => window.OrbisVoice._debug());

    const live = await poll(async () => (await debug()).state === "live", 20000, 100);
    ok(live, "the call goes live against the model");

    // the answer arrives faster than it plays: watch the queue grow
    let peak = 0;
    let peakAt = 0;
    const filled = await poll(async () => {
        const d = await debug();
        if (d.queuedSamples > peak) {
            peak = d.queuedSamples;
            peakAt = Date.now();
        }
        return d.queuedSamples >= 24000;
    }, 20000);
    ok(filled, "the model's answer queues at least a second of audio",
       `largest queue seen: ${peak} samples`);

    // then `interrupted` arrives (scripted on the fake) and empties it
    let emptiedAt = 0;
    const emptied = await poll(async () => {
        const d = await debug();
        if (d.queuedSamples > peak) {
            peak = d.queuedSamples;
            peakAt = Date.now();
        }
        if (d.queuedSamples === 0) {
            emptiedAt = Date.now();
            return true;
        }
        return false;
    }, 20000);
    ok(emptied, "after interrupted the playback queue is empty");

    // playing out `peak` samples at 24 kHz would take peak/24 ms; a flush
    // takes a few polls
    const playMs = peak / 24;
    const tookMs = emptiedAt - peakAt;
    ok(emptied && tookMs < playMs / 2,
       "the queue was dropped, not played out",
       `queue of ${peak} samples (${playMs.toFixed(0)} ms of audio) ` +
       `went to 0 in ${tookMs} ms`);

    const d = await debug();
    ok(d.state === "live", "the call goes on after the barge-in", `state ${d.state}`);
    await page.screenshot({ path: path.join(ART, "widget-after-interrupt.png") });
} catch (e) {
    ok(false, "barge-in run", e.message.split("\n")[0]);
} finally {
    await browser.close();
}

console.log(`1..${n}`);
console.log(`browser interrupt: ${n - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
