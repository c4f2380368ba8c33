#!/usr/bin/env node
// A fast fake of the Gemini Live API for the voice-stream benchmark.
//
// It is not the protocol-faithful fake of the tests (t/lib/FakeGemini.pm):
// it does the least work that still makes the bridge do all of its own,
// so that what the benchmark measures is nginx, not the fake.
//
//   TLS WebSocket, certificates from a throwaway CA (the scheme of
//   t/lib/TestCA.pm: P-256 CA + server certificate for localhost and
//   127.0.0.1, made with the openssl command line).
//
//   Live mode (any path but /raw): the first message must be a `setup`
//   with a `model`, answered by a binary {"setupComplete": {}}; each
//   realtimeInput audio chunk (base64 PCM16 at 16 kHz) is answered at once
//   by one serverContent.modelTurn inlineData chunk with 1.5x the samples
//   (24 kHz, same duration): a per-frame echo, so the latency a bridge
//   adds can be measured frame by frame.
//
//   Raw mode (path /raw): every binary message is answered by a binary
//   message 1.5x its size.  nginx's own proxy_pass WebSocket relay does
//   no protocol translation, so the reference path talks raw.
//
// The echoed audio is the input followed by its first half: the right
// size and duration, not a resampling (nobody listens to it).
//
// Usage: node fake-model.mjs [--port 0] [--host 127.0.0.1] [--tls-dir DIR]
//          [--procs 1] [--key KEY] [--no-cache] [--pretty]
// Prints one JSON line {"port","ca","pid"} on stdout once it listens.
// On SIGTERM/SIGINT each process writes its counters to stderr and exits.

import cluster from 'node:cluster';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';

const opt = parseArgs(process.argv.slice(2), {
    port: '0', host: '127.0.0.1', 'tls-dir': '', procs: '1', key: '',
    cache: true, pretty: false,
});

const SETUP_COMPLETE = Buffer.from('{\n  "setupComplete": {}\n}\n');
const BAD_ARGUMENT = 'Request contains an invalid argument.';

function parseArgs(argv, defaults) {
    const o = { ...defaults };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (!a.startsWith('--')) {
            die(`unexpected argument ${a}`);
        }
        const name = a.slice(2);
        if (name.startsWith('no-') && typeof o[name.slice(3)] === 'boolean') {
            o[name.slice(3)] = false;
        } else if (typeof o[name] === 'boolean') {
            o[name] = true;
        } else if (name in o) {
            if (i + 1 >= argv.length) {
                die(`${a} needs a value`);
            }
            o[name] = argv[++i];
        } else {
            die(`unknown option ${a}`);
        }
    }
    return o;
}

function die(msg) {
    process.stderr.write(`fake-model: ${msg}\n`);
    process.exit(2);
}

// ------------------------------------------------------------ certificates

function openssl(args) {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

// Same layout and choices as t/lib/TestCA.pm: ca.pem, cert.pem, key.pem.
function ensureCertificates(dir) {
    const p = {
        ca: path.join(dir, 'ca.pem'),
        caKey: path.join(dir, 'ca.key'),
        cert: path.join(dir, 'cert.pem'),
        key: path.join(dir, 'key.pem'),
    };
    const complete = [p.ca, p.cert, p.key].every(
        (f) => fs.existsSync(f) && fs.statSync(f).size > 0);
    if (complete) {
        return p;
    }
    fs.mkdirSync(dir, { recursive: true });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
    openssl(['req', '-x509', '-new', '-nodes', ...ec,
             '-keyout', p.caKey, '-out', p.ca, '-days', '30',
             '-subj', '/O=Orbis bench/CN=Orbis Bench CA',
             '-addext', 'basicConstraints=critical,CA:TRUE',
             '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
             '-addext', 'subjectKeyIdentifier=hash']);
    const csr = path.join(dir, 'server.csr');
    const ext = path.join(dir, 'server.ext');
    openssl(['req', '-new', '-nodes', ...ec, '-keyout', p.key, '-out', csr,
             '-subj', '/O=Orbis bench/CN=localhost']);
    fs.writeFileSync(ext, [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid,issuer',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        ''].join('\n'));
    const serial = '0x1' + Array.from({ length: 22 },
        () => Math.floor(Math.random() * 16).toString(16)).join('');
    openssl(['x509', '-req', '-in', csr, '-CA', p.ca, '-CAkey', p.caKey,
             '-set_serial', serial, '-days', '30', '-extfile', ext,
             '-out', p.cert]);
    fs.unlinkSync(csr);
    fs.unlinkSync(ext);
    fs.chmodSync(p.key, 0o600);
    fs.chmodSync(p.caKey, 0o600);
    return p;
}

// ------------------------------------------------------------------ audio

// 1.5x the samples, same duration at 24 kHz: the input, then its first
// half again.
function stretch(pcm) {
    const n = pcm.length & ~1;
    const outLen = Math.floor((n / 2) * 3 / 2) * 2;
    const out = Buffer.allocUnsafe(outLen);
    pcm.copy(out, 0, 0, n);
    pcm.copy(out, n, 0, outLen - n);
    return out;
}

function audioMessage(pcm) {
    const data = stretch(pcm).toString('base64');
    const obj = { serverContent: { modelTurn: { parts: [{ inlineData: {
        mimeType: 'audio/pcm;rate=24000', data } }] } } };
    const text = opt.pretty ? JSON.stringify(obj, null, 2) + '\n'
                            : JSON.stringify(obj);
    return Buffer.from(text);
}

// ----------------------------------------------------------------- server

const stats = {
    sessions: 0, live: 0, raw: 0, setups: 0, audioIn: 0, audioOut: 0,
    rawIn: 0, rawOut: 0, slowPath: 0, refused: 0, other: 0,
};

// The benchmark sends the same frame over and over: remembering the last
// answer turns the fake's per-frame work into a string compare.
let lastRawIn = null;
let lastRawOut = null;
let lastB64 = '';
let lastLiveOut = null;

function answerRaw(ws, buf) {
    stats.rawIn++;
    let out;
    if (opt.cache && lastRawIn !== null && buf.equals(lastRawIn)) {
        out = lastRawOut;
    } else {
        out = stretch(buf);
        if (opt.cache) {
            lastRawIn = Buffer.from(buf);
            lastRawOut = out;
        }
    }
    ws.send(out, { binary: true });
    stats.rawOut++;
}

function answerAudio(ws, b64) {
    stats.audioIn++;
    let out;
    if (opt.cache && b64 === lastB64) {
        out = lastLiveOut;
    } else {
        out = audioMessage(Buffer.from(b64, 'base64'));
        if (opt.cache) {
            lastB64 = b64;
            lastLiveOut = out;
        }
    }
    ws.send(out, { binary: true });
    stats.audioOut++;
}

// The base64 of a realtimeInput audio message without parsing the JSON;
// null when the message is anything else or unusual (the caller then
// parses it for real).
function fastAudio(s) {
    const at = s.indexOf('"realtimeInput"');
    if (at < 0 || at > 16 || s.indexOf('"video"') >= 0) {
        return null;
    }
    let i = s.indexOf('"data"', at);
    if (i < 0) {
        return null;
    }
    i += 6;
    while (s[i] === ' ' || s[i] === ':' || s[i] === '\n' || s[i] === '\t') {
        i++;
    }
    if (s[i] !== '"') {
        return null;
    }
    const end = s.indexOf('"', i + 1);
    if (end < 0) {
        return null;
    }
    const b64 = s.slice(i + 1, end);
    return b64.indexOf('\\') >= 0 ? null : b64;
}

function audioOf(msg) {
    const ri = msg.realtimeInput ?? msg.realtime_input;
    if (ri === undefined || ri === null) {
        return null;
    }
    if (ri.audio && typeof ri.audio.data === 'string') {
        return ri.audio.data;
    }
    const chunks = ri.mediaChunks ?? ri.media_chunks;
    if (Array.isArray(chunks) && chunks.length > 0
        && typeof chunks[0].data === 'string')
    {
        return chunks[0].data;
    }
    return null;
}

function keyOk(req) {
    if (opt.key === '') {
        return true;
    }
    const u = new URL(req.url, 'https://fake');
    return req.headers['x-goog-api-key'] === opt.key
        || u.searchParams.get('key') === opt.key;
}

function live(ws, req) {
    stats.live++;
    if (!keyOk(req)) {
        stats.refused++;
        ws.close(1008, 'API key not valid. Please pass a valid API key.');
        return;
    }
    let setupDone = false;

    ws.on('message', (data, isBinary) => {
        const buf = Array.isArray(data) ? Buffer.concat(data)
                                        : Buffer.from(data);
        const s = buf.toString('latin1');

        if (setupDone) {
            const b64 = fastAudio(s);
            if (b64 !== null) {
                answerAudio(ws, b64);
                return;
            }
            stats.slowPath++;
        }

        let msg;
        try {
            msg = JSON.parse(buf.toString('utf8'));
        } catch {
            stats.refused++;
            ws.close(1007, BAD_ARGUMENT);
            return;
        }
        if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
            stats.refused++;
            ws.close(1007, BAD_ARGUMENT);
            return;
        }

        if (!setupDone) {
            const setup = msg.setup;
            if (setup === undefined || typeof setup.model !== 'string'
                || !setup.model.startsWith('models/'))
            {
                stats.refused++;
                ws.close(1007, BAD_ARGUMENT);
                return;
            }
            setupDone = true;
            stats.setups++;
            ws.send(SETUP_COMPLETE, { binary: true });
            return;
        }

        if (msg.setup !== undefined) {
            stats.refused++;
            ws.close(1007, BAD_ARGUMENT);
            return;
        }
        const b64 = audioOf(msg);
        if (b64 !== null) {
            answerAudio(ws, b64);
            return;
        }
        // clientContent, toolResponse, audioStreamEnd, text: no answer
        stats.other++;
        void isBinary;
    });
}

function raw(ws) {
    stats.raw++;
    ws.on('message', (data, isBinary) => {
        const buf = Array.isArray(data) ? Buffer.concat(data)
                                        : Buffer.from(data);
        if (!isBinary) {
            stats.other++;
            return;
        }
        answerRaw(ws, buf);
    });
}

function serve(tls, onListening) {
    const server = https.createServer({
        cert: fs.readFileSync(tls.cert),
        key: fs.readFileSync(tls.key),
    });
    const wss = new WebSocketServer({
        server, perMessageDeflate: false, maxPayload: 1 << 20,
        clientTracking: false,
    });
    wss.on('connection', (ws, req) => {
        stats.sessions++;
        ws.on('error', () => {});
        const p = new URL(req.url, 'https://fake').pathname;
        if (p === '/raw') {
            raw(ws);
        } else {
            live(ws, req);
        }
    });
    server.on('tlsClientError', () => {});
    server.listen(Number(opt.port), opt.host, 65535, () => {
        onListening(server.address().port);
    });
}

function dumpStats() {
    process.stderr.write(`fake-model ${process.pid}: `
                         + JSON.stringify(stats) + '\n');
}

function onSignals() {
    for (const sig of ['SIGTERM', 'SIGINT']) {
        process.on(sig, () => {
            dumpStats();
            process.exit(0);
        });
    }
}

// ------------------------------------------------------------------- main

const procs = Math.max(1, Number(opt.procs) || 1);
const tlsDir = opt['tls-dir']
    || fs.mkdtempSync(path.join(os.tmpdir(), 'orbis-fake-model-'));

if (cluster.isPrimary) {
    const tls = ensureCertificates(tlsDir);
    const announce = (port) => {
        process.stdout.write(JSON.stringify({
            port, ca: tls.ca, cert: tls.cert, pid: process.pid, procs,
        }) + '\n');
    };

    if (procs === 1) {
        onSignals();
        serve(tls, announce);
    } else {
        // the workers share one listening socket through the primary
        let announced = false;
        cluster.setupPrimary({ args: [...process.argv.slice(2),
                                      '--tls-dir', tlsDir] });
        for (let i = 0; i < procs; i++) {
            const w = cluster.fork();
            w.on('message', (m) => {
                if (m && m.port !== undefined && !announced) {
                    announced = true;
                    announce(m.port);
                }
            });
        }
        cluster.on('exit', (w, code, signal) => {
            if (!stopping) {
                process.stderr.write(`fake-model: worker ${w.process.pid} `
                                     + `died (${code ?? signal})\n`);
            }
        });
        let stopping = false;
        for (const sig of ['SIGTERM', 'SIGINT']) {
            process.on(sig, () => {
                stopping = true;
                for (const w of Object.values(cluster.workers)) {
                    w.process.kill('SIGTERM');
                }
                setTimeout(() => process.exit(0), 500);
            });
        }
    }
} else {
    onSignals();
    serve(ensureCertificates(tlsDir), (port) => process.send({ port }));
}
