#!/usr/bin/env node
// Load generator for the voice-stream benchmark.
//
// Opens N WebSocket sessions (ramping at --ramp sessions/s), each sending
// one 20 ms frame (640 bytes of PCM16 at 16 kHz) every 20 ms, and times
// every frame from send to the reply that answers it.  The fake model
// answers each frame with exactly 1.5x its bytes (24 kHz), in order, so
// replies are matched to frames by byte count (FIFO): a bridge may split
// or merge audio messages and the match still holds.
//
// Modes:
//   orbis   ws://host:port/stream?agent=..&key=..: wait for the text
//           event {"type":"ready"}, then binary PCM both ways.
//   raw     binary in, binary out (nginx's proxy_pass relay, or the
//           fake's /raw directly).
//   gemini  straight to the fake's Live endpoint: setup, setupComplete,
//           realtimeInput JSON out, serverContent JSON back.  The direct
//           baseline for the orbis path (the JSON is built once, so the
//           generator does about the same work per frame as in orbis
//           mode).
//
// Node runs JavaScript on one thread: the sessions are spread over
// --threads worker threads.  The generator's own overhead is reported:
// how late each frame left against its 20 ms schedule, the event-loop
// utilisation of each thread and its CPU time per frame.
//
// Output: progress lines on stderr; on stdout the lines
//   READY <n> <failed>      all sessions are up (or the ramp gave up)
//   MEASURE_START <ms>      the measured window begins (epoch ms)
//   MEASURE_END <ms>        it ends (sending stops)
//   RESULT <json>           the figures
// so that a driver can sample the CPU and memory of other processes at
// exactly the window's edges.
//
// Usage: node load.mjs --mode orbis|raw|gemini --url URL [--sessions 100]
//          [--duration 8] [--warmup 2] [--ramp 500] [--threads 2]
//          [--origin http://bench.example] [--ca FILE] [--model M]
//          [--grace 3] [--ready-timeout S] [--raw-send 1|0] [--send 1|0]
// --send 0 opens the sessions and sends no audio (memory of open calls).

import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData }
    from 'node:worker_threads';
import WebSocket from 'ws';

const FRAME_MS = 20;
const IN_RATE = 16000;
const FRAME_BYTES = IN_RATE * FRAME_MS / 1000 * 2;     // 640
const REPLY_BYTES = FRAME_BYTES * 3 / 2;               // 960 at 24 kHz

// RTT histogram: 10 us buckets up to 100 ms, then 1 ms buckets up to
// 60 s, plus one for anything above
const FINE_US = 10;
const FINE = 10000;
const COARSE_US = 1000;
const NBUCKETS = FINE + (60000000 - FINE * FINE_US) / COARSE_US;

function bucketOf(us) {
    if (us < FINE * FINE_US) {
        return Math.floor(us / FINE_US);
    }
    return Math.min(NBUCKETS, FINE + Math.floor((us - FINE * FINE_US)
                                                / COARSE_US));
}

// a bucket's upper edge in ms
function edgeOf(i) {
    if (i < FINE) {
        return (i + 1) * FINE_US / 1000;
    }
    return (FINE * FINE_US + (i - FINE + 1) * COARSE_US) / 1000;
}

function newHist() {
    return { b: new Uint32Array(NBUCKETS + 1), n: 0, sum: 0, max: 0 };
}

function record(h, ms) {
    h.b[bucketOf(Math.max(0, ms * 1000))]++;
    h.n++;
    h.sum += ms;
    if (ms > h.max) {
        h.max = ms;
    }
}

function merge(into, h) {
    for (let i = 0; i <= NBUCKETS; i++) {
        into.b[i] += h.b[i];
    }
    into.n += h.n;
    into.sum += h.sum;
    if (h.max > into.max) {
        into.max = h.max;
    }
}

function pct(h, p) {
    if (h.n === 0) {
        return null;
    }
    const want = Math.ceil(h.n * p);
    let seen = 0;
    for (let i = 0; i <= NBUCKETS; i++) {
        seen += h.b[i];
        if (seen >= want) {
            // the bucket's upper edge: never flatters
            return i === NBUCKETS ? h.max : Math.min(edgeOf(i), h.max);
        }
    }
    return h.max;
}

function summary(h) {
    const r = (x) => (x === null ? null : Math.round(x * 1000) / 1000);
    return {
        n: h.n, mean: r(h.n ? h.sum / h.n : null), p50: r(pct(h, 0.5)),
        p90: r(pct(h, 0.9)), p99: r(pct(h, 0.99)),
        p999: r(pct(h, 0.999)), max: r(h.n ? h.max : null),
    };
}

// a 300 Hz tone: any 20 ms frame does, the content is not looked at
function makeFrame() {
    const b = Buffer.alloc(FRAME_BYTES);
    for (let i = 0; i < FRAME_BYTES / 2; i++) {
        b.writeInt16LE(Math.round(8000 * Math.sin(2 * Math.PI * 300 * i
                                                  / IN_RATE)), i * 2);
    }
    return b;
}

function parseArgs(argv) {
    const o = {
        mode: '', url: '', sessions: '100', duration: '8', warmup: '2',
        ramp: '500', threads: '2', origin: 'http://bench.example', ca: '',
        model: 'gemini-2.5-flash-native-audio-preview-12-2025', grace: '3',
        'ready-timeout': '', 'raw-send': '1', send: '1',
    };
    for (let i = 0; i < argv.length; i++) {
        const name = argv[i].replace(/^--/, '');
        if (!(name in o) || i + 1 >= argv.length) {
            process.stderr.write(`load: bad option ${argv[i]}\n`);
            process.exit(2);
        }
        o[name] = argv[++i];
    }
    if (!['orbis', 'raw', 'gemini'].includes(o.mode) || o.url === '') {
        process.stderr.write('load: --mode orbis|raw|gemini and --url '
                             + 'are required\n');
        process.exit(2);
    }
    return o;
}


// ================================================================ worker

// one complete client frame (FIN, opcode, mask bit, length, mask, masked
// payload)
function prebuilt(payload, opcode) {
    const n = payload.length;
    const hlen = n < 126 ? 2 : (n < 65536 ? 4 : 10);
    const b = Buffer.alloc(hlen + 4 + n);
    b[0] = 0x80 | opcode;
    if (n < 126) {
        b[1] = 0x80 | n;
    } else if (n < 65536) {
        b[1] = 0x80 | 126;
        b.writeUInt16BE(n, 2);
    } else {
        b[1] = 0x80 | 127;
        b.writeBigUInt64BE(BigInt(n), 2);
    }
    const mask = [0x5a, 0xc3, 0x17, 0x9e];
    for (let i = 0; i < 4; i++) {
        b[hlen + i] = mask[i];
    }
    for (let i = 0; i < n; i++) {
        b[hlen + 4 + i] = payload[i] ^ mask[i & 3];
    }
    return b;
}

function workerMain() {
    const cfg = workerData;
    const frame = makeFrame();
    const geminiFrame = JSON.stringify({ realtimeInput: { audio: {
        mimeType: 'audio/pcm;rate=16000', data: frame.toString('base64') } } });
    const geminiSetup = JSON.stringify({ setup: {
        model: `models/${cfg.model}`,
        generationConfig: { responseModalities: ['AUDIO'] } } });
    const ca = cfg.ca ? fs.readFileSync(cfg.ca) : undefined;
    // The frame, masked once and then written as it is: one write per
    // frame and no per-frame framing work in the generator (a server
    // cannot tell a reused mask from a fresh one).
    const wire = cfg.rawSend ? prebuilt(cfg.mode === 'gemini'
                                        ? Buffer.from(geminiFrame) : frame,
                                        cfg.mode === 'gemini' ? 1 : 2)
                             : null;

    const sessions = [];
    const rtt = newHist();
    const late = newHist();
    const st = {
        opened: 0, ready: 0, failed: 0, closedUnexpected: 0,
        closeCodes: {}, errors: {}, sent: 0, answered: 0, overReplies: 0,
        textEvents: {}, errorEvents: 0, sentTotal: 0,
    };
    let measuring = false;
    let sending = true;
    let elu0 = null;

    function count(map, key) {
        map[key] = (map[key] ?? 0) + 1;
    }

    function onReply(s, bytes, now) {
        s.acc += bytes;
        while (s.acc >= REPLY_BYTES) {
            s.acc -= REPLY_BYTES;
            if (s.head === s.tail) {
                st.overReplies++;
                continue;
            }
            const i = s.head & s.mask;
            s.head++;
            if (s.win[i]) {
                record(rtt, now - s.times[i]);
                st.answered++;
            }
        }
    }

    function geminiAudioBytes(str) {
        let i = str.indexOf('"data"');
        if (i < 0) {
            return -1;
        }
        i = str.indexOf('"', i + 6);
        const end = str.indexOf('"', i + 1);
        const n = end - i - 1;
        let pad = 0;
        if (str[end - 1] === '=') {
            pad++;
        }
        if (str[end - 2] === '=') {
            pad++;
        }
        return (n / 4) * 3 - pad;
    }

    function open(idx) {
        const headers = {};
        if (cfg.mode === 'orbis') {
            headers.Origin = cfg.origin;
        }
        const ws = new WebSocket(cfg.url, {
            perMessageDeflate: false, headers, ca,
            handshakeTimeout: 15000, maxPayload: 1 << 20,
        });
        const s = {
            idx, ws, ready: false, closing: false, next: 0,
            times: new Float64Array(1024), win: new Uint8Array(1024),
            mask: 1023, head: 0, tail: 0, acc: 0,
        };
        sessions.push(s);

        const becomeReady = () => {
            s.ready = true;
            s.next = performance.now();
            st.ready++;
            parentPort.postMessage({ t: 'ready' });
        };

        ws.on('open', () => {
            st.opened++;
            if (cfg.mode === 'raw') {
                becomeReady();
            } else if (cfg.mode === 'gemini') {
                ws.send(geminiSetup);
            }
        });
        ws.on('message', (data, isBinary) => {
            const now = performance.now();
            if (cfg.mode === 'raw' || (cfg.mode === 'orbis' && isBinary)) {
                if (s.ready) {
                    onReply(s, data.length, now);
                }
                return;
            }
            const str = data.toString();
            if (cfg.mode === 'gemini') {
                if (!s.ready) {
                    if (str.indexOf('setupComplete') >= 0) {
                        becomeReady();
                    }
                    return;
                }
                const n = geminiAudioBytes(str);
                if (n >= 0) {
                    onReply(s, n, now);
                } else {
                    count(st.textEvents, 'other');
                }
                return;
            }
            let ev;
            try {
                ev = JSON.parse(str);
            } catch {
                count(st.textEvents, 'unparsable');
                return;
            }
            const type = String(ev?.type);
            count(st.textEvents, type);
            if (type === 'ready' && !s.ready) {
                becomeReady();
            } else if (type === 'error') {
                st.errorEvents++;
                count(st.errors, `event:${ev.code}`);
            }
        });
        ws.on('unexpected-response', (req, res) => {
            count(st.errors, `http:${res.statusCode}`);
            st.failed++;
            s.closing = true;
            parentPort.postMessage({ t: 'failed' });
            req.destroy();
        });
        ws.on('error', (e) => {
            count(st.errors, e.code ?? e.message.slice(0, 40));
            if (!s.ready && !s.closing) {
                s.closing = true;
                st.failed++;
                parentPort.postMessage({ t: 'failed' });
            }
        });
        ws.on('close', (code) => {
            const wasReady = s.ready;
            s.ready = false;
            if (!s.closing) {
                st.closedUnexpected++;
                count(st.closeCodes, code);
                s.closing = true;
                if (!wasReady) {
                    st.failed++;
                    parentPort.postMessage({ t: 'failed' });
                }
            }
        });
    }

    // one ticker for all of this thread's sessions: each sends when its
    // 20 ms slot is due; a late loop catches up one frame per tick
    function tick() {
        if (!sending || !cfg.send) {
            return;
        }
        const now = performance.now();
        for (let k = 0; k < sessions.length; k++) {
            const s = sessions[k];
            if (!s.ready || s.next > now) {
                continue;
            }
            if (s.tail - s.head > s.mask) {
                // a thousand frames unanswered: the path is stuck
                continue;
            }
            const t = performance.now();
            if (measuring) {
                record(late, t - s.next);
            }
            const i = s.tail & s.mask;
            s.times[i] = t;
            s.win[i] = measuring ? 1 : 0;
            s.tail++;
            if (wire !== null) {
                s.ws._socket.write(wire);
            } else if (cfg.mode === 'gemini') {
                s.ws.send(geminiFrame);
            } else {
                s.ws.send(frame, { binary: true });
            }
            st.sentTotal++;
            if (measuring) {
                st.sent++;
            }
            s.next += FRAME_MS;
        }
    }

    const ticker = setInterval(tick, 1);

    parentPort.on('message', (m) => {
        if (m.t === 'open') {
            const gap = 1000 / m.rate;
            let k = 0;
            const opener = () => {
                const until = Math.min(m.ids.length,
                                       k + Math.max(1, Math.floor(m.rate
                                                                  / 100)));
                for (; k < until; k++) {
                    open(m.ids[k]);
                }
                if (k < m.ids.length) {
                    setTimeout(opener, gap * Math.max(1, Math.floor(m.rate
                                                                    / 100)));
                }
            };
            opener();
        } else if (m.t === 'start') {
            rtt.b.fill(0);
            rtt.n = 0;
            rtt.sum = 0;
            rtt.max = 0;
            measuring = true;
            elu0 = performance.eventLoopUtilization();
        } else if (m.t === 'stop') {
            measuring = false;
            const elu = performance.eventLoopUtilization(elu0);
            sending = false;
            // wait for the window's frames to be answered, then report
            const deadline = performance.now() + m.grace * 1000;
            const wait = () => {
                const pending = sessions.some((s) => {
                    for (let j = s.head; j < s.tail; j++) {
                        if (s.win[j & s.mask]) {
                            return s.ready;
                        }
                    }
                    return false;
                });
                if (pending && performance.now() < deadline) {
                    setTimeout(wait, 20);
                    return;
                }
                parentPort.postMessage({
                    t: 'stats', st, rtt, late, elu: elu.utilization,
                });
            };
            wait();
        } else if (m.t === 'close') {
            clearInterval(ticker);
            let left = 0;
            for (const s of sessions) {
                if (s.ws.readyState === WebSocket.OPEN
                    || s.ws.readyState === WebSocket.CONNECTING)
                {
                    left++;
                    s.closing = true;
                    s.ws.once('close', () => {
                        if (--left === 0) {
                            parentPort.postMessage({ t: 'closed' });
                        }
                    });
                    if (s.ws.readyState === WebSocket.OPEN) {
                        s.ws.close(1000);
                    } else {
                        s.ws.terminate();
                    }
                }
            }
            if (left === 0) {
                parentPort.postMessage({ t: 'closed' });
            }
            setTimeout(() => {
                for (const s of sessions) {
                    s.ws.terminate();
                }
                parentPort.postMessage({ t: 'closed', forced: true });
            }, 5000).unref();
        }
    });
}


// ================================================================== main

function out(line) {
    process.stdout.write(line + '\n');
}

function note(line) {
    process.stderr.write(`load: ${line}\n`);
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    const n = Number(o.sessions);
    const nthreads = Math.max(1, Math.min(Number(o.threads), n));
    const rate = Number(o.ramp);
    const readyTimeout = o['ready-timeout'] !== ''
        ? Number(o['ready-timeout']) * 1000
        : (n / rate) * 1000 + 20000;

    const workers = [];
    let ready = 0;
    let failed = 0;
    const stats = [];
    let closed = 0;

    const allSettled = () => ready + failed >= n;
    let settledResolve;
    const settled = new Promise((r) => { settledResolve = r; });
    let statsResolve;
    const statsDone = new Promise((r) => { statsResolve = r; });
    let closeResolve;
    const closeDone = new Promise((r) => { closeResolve = r; });

    for (let w = 0; w < nthreads; w++) {
        const worker = new Worker(new URL(import.meta.url), {
            workerData: {
                mode: o.mode, url: o.url, origin: o.origin, ca: o.ca,
                model: o.model, rawSend: o['raw-send'] === '1',
                send: o.send === '1',
            },
        });
        worker.on('message', (m) => {
            if (m.t === 'ready') {
                ready++;
            } else if (m.t === 'failed') {
                failed++;
            } else if (m.t === 'stats') {
                stats.push(m);
                if (stats.length === nthreads) {
                    statsResolve();
                }
                return;
            } else if (m.t === 'closed') {
                if (!worker.closedOnce) {
                    worker.closedOnce = true;
                    if (++closed === nthreads) {
                        closeResolve();
                    }
                }
                return;
            }
            if (allSettled()) {
                settledResolve();
            }
        });
        worker.on('error', (e) => {
            note(`worker error: ${e.stack ?? e}`);
            process.exit(1);
        });
        workers.push(worker);
    }

    const t0 = performance.now();
    for (let w = 0; w < nthreads; w++) {
        const ids = [];
        for (let i = w; i < n; i += nthreads) {
            ids.push(i);
        }
        workers[w].postMessage({ t: 'open', ids, rate: rate / nthreads });
    }

    const progress = setInterval(() => {
        note(`ramp: ${ready} ready, ${failed} failed of ${n}`);
    }, 2000);
    await Promise.race([settled, new Promise((r) => setTimeout(r,
                                                               readyTimeout))]);
    clearInterval(progress);
    const rampS = (performance.now() - t0) / 1000;
    out(`READY ${ready} ${failed}`);
    note(`ramp: ${ready} ready, ${failed} failed of ${n} in `
         + `${rampS.toFixed(1)} s`);

    await new Promise((r) => setTimeout(r, Number(o.warmup) * 1000));

    const start = performance.now();
    const cpuMain0 = process.cpuUsage();
    for (const w of workers) {
        w.postMessage({ t: 'start' });
    }
    out(`MEASURE_START ${Date.now()}`);
    await new Promise((r) => setTimeout(r, Number(o.duration) * 1000));
    for (const w of workers) {
        w.postMessage({ t: 'stop', grace: Number(o.grace) });
    }
    const cpuMain = process.cpuUsage(cpuMain0);
    const windowS = (performance.now() - start) / 1000;
    out(`MEASURE_END ${Date.now()}`);

    await statsDone;

    const rtt = newHist();
    const late = newHist();
    const agg = {
        opened: 0, ready: 0, failed: 0, closedUnexpected: 0, sent: 0,
        answered: 0, overReplies: 0, errorEvents: 0, sentTotal: 0,
        closeCodes: {}, errors: {}, textEvents: {},
    };
    // process-wide: every thread of this process
    const cpuUs = cpuMain.user + cpuMain.system;
    const elus = [];
    for (const m of stats) {
        merge(rtt, m.rtt);
        merge(late, m.late);
        for (const k of Object.keys(agg)) {
            if (typeof agg[k] === 'number') {
                agg[k] += m.st[k];
            } else {
                for (const [kk, v] of Object.entries(m.st[k])) {
                    agg[k][kk] = (agg[k][kk] ?? 0) + v;
                }
            }
        }
        elus.push(Math.round(m.elu * 1000) / 1000);
    }

    for (const w of workers) {
        w.postMessage({ t: 'close' });
    }
    await Promise.race([closeDone, new Promise((r) => setTimeout(r, 6000))]);

    const result = {
        mode: o.mode, url: o.url.replace(/key=[^&]*/, 'key=…'),
        sessions: n, ready: agg.ready, failed: agg.failed, rampS,
        windowS, threads: nthreads,
        framesSent: agg.sent, framesAnswered: agg.answered,
        lost: agg.sent - agg.answered,
        framesPerS: agg.answered / windowS,
        rttMs: summary(rtt), sendLateMs: summary(late),
        generator: {
            cpuUsPerFrame: agg.sent ? cpuUs / agg.sent : null,
            cpuS: cpuUs / 1e6, eventLoopUtilization: elus,
        },
        closedUnexpected: agg.closedUnexpected, closeCodes: agg.closeCodes,
        errors: agg.errors, errorEvents: agg.errorEvents,
        overReplies: agg.overReplies, textEvents: agg.textEvents,
    };
    out('RESULT ' + JSON.stringify(result));
    process.exit(0);
}

if (isMainThread) {
    main().catch((e) => {
        note(e.stack ?? String(e));
        process.exit(1);
    });
} else {
    workerMain();
}
