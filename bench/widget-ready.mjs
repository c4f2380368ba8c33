// How long until the widget's button can be clicked, on a local page:
// navigation start → the launcher visible and enabled, against the same
// page's own load event as the reference.  Env: SITE_URL (the test page
// with ?agentId&apiKey&server), RUNS (default 10).  Prints JSON.
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "t", "browser", "package.json"));
const { chromium } = require("playwright-core");

const runs = Number(process.env.RUNS || 10);
const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium", headless: true,
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
});
const ready = [];
const load = [];
for (let i = 0; i < runs; i++) {
    const ctx = await browser.newContext();      // a cold cache each time
    const page = await ctx.newPage();
    await page.goto(process.env.SITE_URL, { waitUntil: "commit" });
    await page.getByTestId("ov-launcher").waitFor({ state: "visible" });
    ready.push(await page.evaluate(() => performance.now()));
    await page.waitForLoadState("load");
    load.push(await page.evaluate(() =>
        performance.getEntriesByType("navigation")[0].loadEventEnd));
    await ctx.close();
}
await browser.close();
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(JSON.stringify({ runs, readyMedianMs: median(ready),
    readyMaxMs: Math.max(...ready), pageLoadMedianMs: median(load) }));
