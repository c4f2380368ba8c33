/*
 * Orbis voice widget.  One file, no dependencies.
 *
 *   <script>
 *     window.OrbisVoice = window.OrbisVoice || { q: [] };
 *     OrbisVoice.q.push(["init", { agentId: "AGENT_ID", apiKey: "PUBLISHABLE_KEY" }]);
 *   </script>
 *   <script src="https://ORBIS_HOST/widget.js" async></script>
 *
 * or, once the script has loaded, OrbisVoice.init({...}) directly.  A
 * "orbisvoice:ready" event is dispatched on window when the API is there.
 *
 * Options: agentId, apiKey (publishable), server (defaults to the origin this
 * script came from), position ("bottom-right" | "bottom-left"),
 * theme { accent: "#5b5bf7", mode: "light" | "dark" }, greeting (text shown
 * before the call), title, open (open the panel at once).
 *
 * The microphone is asked for only after the visitor clicks "Start
 * conversation" and the server has accepted the session ("ready"), so a site
 * that may not use the assistant never triggers a permission prompt.
 */
(function () {
    "use strict";

    if (window.OrbisVoice && window.OrbisVoice.__orbis) {
        return;
    }

    var INPUT_RATE = 16000;
    var OUTPUT_RATE = 24000;
    var FRAME_MS = 40;
    var PREROLL_MS = 100;
    var BACKOFF_MS = [500, 1000, 2000, 4000];
    var READY_TIMEOUT_MS = 10000;

    var scriptOrigin = (function () {
        var s = document.currentScript;
        try {
            if (s && s.src) {
                return new URL(s.src, location.href).origin;
            }
        } catch (e) { /* fall through */ }
        return location.origin;
    })();

    /* ---- AudioWorklet code, loaded from Blob URLs ---------------------- */

    /* Capture: low-pass + fractional decimation from the context rate to
     * 16 kHz, PCM16 frames of FRAME_MS posted (transferred) to the page. */
    var CAPTURE_SRC = [
        "class OrbisCapture extends AudioWorkletProcessor {",
        "  constructor(o) {",
        "    super();",
        "    var p = (o && o.processorOptions) || {};",
        "    this.frameMs = p.frameMs || 40;",
        "    this.setRate(p.outRate || 16000);",
        "    this.muted = false;",
        "    this.port.onmessage = (e) => {",
        "      var d = e.data || {};",
        "      if (d.cmd === 'rate') this.setRate(d.rate);",
        "      else if (d.cmd === 'mute') this.muted = !!d.on;",
        "    };",
        "  }",
        "  setRate(r) {",
        "    this.outRate = r;",
        "    this.step = sampleRate / r;",
        "    var n = 32, taps = new Float32Array(n);",
        "    if (this.step > 1) {",
        "      var fc = 0.45 * r / sampleRate, sum = 0;",
        "      for (var i = 0; i < n; i++) {",
        "        var m = i - (n - 1) / 2, x = 2 * Math.PI * fc * m;",
        "        var s = m === 0 ? 2 * fc : Math.sin(x) / (Math.PI * m);",
        "        var w = 0.42 - 0.5 * Math.cos(2 * Math.PI * i / (n - 1))",
        "              + 0.08 * Math.cos(4 * Math.PI * i / (n - 1));",
        "        taps[i] = s * w; sum += taps[i];",
        "      }",
        "      for (i = 0; i < n; i++) taps[i] /= sum;",
        "    } else { taps[0] = 1; }",
        "    this.taps = taps; this.hist = new Float32Array(n); this.hi = 0;",
        "    this.t = 0; this.prev = 0;",
        "    this.frame = Math.round(r * this.frameMs / 1000);",
        "    this.out = new Int16Array(this.frame); this.n = 0; this.sq = 0;",
        "  }",
        "  process(inputs) {",
        "    var ch = inputs[0] && inputs[0][0];",
        "    if (!ch) return true;",
        "    var taps = this.taps, hist = this.hist, n = taps.length;",
        "    for (var i = 0; i < ch.length; i++) {",
        "      var x = this.muted ? 0 : ch[i];",
        "      hist[this.hi] = x;",
        "      var y = 0, k = this.hi;",
        "      for (var j = 0; j < n; j++) { y += taps[j] * hist[k]; k = k === 0 ? n - 1 : k - 1; }",
        "      this.hi = this.hi === n - 1 ? 0 : this.hi + 1;",
        "      while (this.t <= 0) {",
        "        var v = this.prev + (y - this.prev) * (this.t + 1);",
        "        if (v > 1) v = 1; else if (v < -1) v = -1;",
        "        this.sq += v * v;",
        "        this.out[this.n++] = v < 0 ? v * 32768 : v * 32767;",
        "        if (this.n === this.frame) {",
        "          var level = Math.sqrt(this.sq / this.frame);",
        "          this.port.postMessage({ pcm: this.out.buffer, level: level }, [this.out.buffer]);",
        "          this.out = new Int16Array(this.frame); this.n = 0; this.sq = 0;",
        "        }",
        "        this.t += this.step;",
        "      }",
        "      this.t -= 1; this.prev = y;",
        "    }",
        "    return true;",
        "  }",
        "}",
        "registerProcessor('orbis-capture', OrbisCapture);"
    ].join("\n");

    /* Playback: a growable ring of float samples at the server's rate,
     * linear interpolation to the context rate, PREROLL_MS of pre-roll after
     * every underrun, 'clear' empties it at once (barge-in), 'flush' plays a
     * tail shorter than the pre-roll (end of turn). */
    var PLAYER_SRC = [
        "class OrbisPlayer extends AudioWorkletProcessor {",
        "  constructor(o) {",
        "    super();",
        "    var p = (o && o.processorOptions) || {};",
        "    this.prerollMs = p.prerollMs || 100;",
        "    this.cap = 1 << 18; this.mask = this.cap - 1;",
        "    this.buf = new Float32Array(this.cap);",
        "    this.r = 0; this.len = 0; this.frac = 0;",
        "    this.playing = false; this.flush = false;",
        "    this.setRate(p.inRate || 24000);",
        "    this.lastQ = -1; this.tick = 0;",
        "    this.port.onmessage = (e) => {",
        "      var d = e.data;",
        "      if (d instanceof ArrayBuffer) this.push(new Int16Array(d));",
        "      else if (d && d.cmd === 'clear') this.clear();",
        "      else if (d && d.cmd === 'flush') this.flush = true;",
        "      else if (d && d.cmd === 'rate') { this.clear(); this.setRate(d.rate); }",
        "      this.report(true);",
        "    };",
        "  }",
        "  setRate(r) {",
        "    this.step = r / sampleRate;",
        "    this.preroll = Math.round(r * this.prerollMs / 1000);",
        "  }",
        "  clear() { this.r = 0; this.len = 0; this.frac = 0; this.playing = false; this.flush = false; }",
        "  push(pcm) {",
        "    var n = pcm.length;",
        "    if (this.len + n > this.cap) {",
        "      var cap = this.cap;",
        "      while (this.len + n > cap) cap *= 2;",
        "      if (cap > (1 << 24)) return;",
        "      var nb = new Float32Array(cap);",
        "      for (var i = 0; i < this.len; i++) nb[i] = this.buf[(this.r + i) & this.mask];",
        "      this.buf = nb; this.cap = cap; this.mask = cap - 1; this.r = 0;",
        "    }",
        "    var w = (this.r + this.len) & this.mask;",
        "    for (var j = 0; j < n; j++) { this.buf[w] = pcm[j] / 32768; w = (w + 1) & this.mask; }",
        "    this.len += n;",
        "  }",
        "  report(force) {",
        "    if ((force || ++this.tick % 8 === 0) && this.len !== this.lastQ) {",
        "      this.lastQ = this.len;",
        "      this.port.postMessage({ q: this.len, playing: this.playing });",
        "    }",
        "  }",
        "  process(inputs, outputs) {",
        "    var out = outputs[0], o = out[0], i;",
        "    if (!this.playing && this.len > 0 && (this.len >= this.preroll || this.flush)) this.playing = true;",
        "    if (!this.playing) { for (i = 0; i < o.length; i++) o[i] = 0; }",
        "    else {",
        "      var buf = this.buf, m = this.mask;",
        "      for (i = 0; i < o.length; i++) {",
        "        if (this.len === 0) { o[i] = 0; continue; }",
        "        var a = buf[this.r], b = this.len > 1 ? buf[(this.r + 1) & m] : a;",
        "        o[i] = a + (b - a) * this.frac;",
        "        this.frac += this.step;",
        "        while (this.frac >= 1 && this.len > 0) { this.frac -= 1; this.r = (this.r + 1) & m; this.len--; }",
        "      }",
        "      if (this.len === 0) { this.playing = false; this.flush = false; this.frac = 0; }",
        "    }",
        "    for (var c = 1; c < out.length; c++) out[c].set(o);",
        "    this.report(false);",
        "    return true;",
        "  }",
        "}",
        "registerProcessor('orbis-player', OrbisPlayer);"
    ].join("\n");

    /* ---- Messages --------------------------------------------------------- */

    var CLOSE_MESSAGES = {
        1013: ["The assistant is very busy right now. Please try again in a few seconds.", true],
        4000: ["This assistant could not be found.", false],
        4001: ["The assistant is busy right now. Please try again in a minute.", true],
        4002: ["This assistant is not available right now.", false],
        4003: ["This site is not allowed to use this assistant.", false],
        4004: ["The assistant's voice service is unavailable right now. Please try again later.", true],
        4008: ["The conversation ended because it was quiet for a while.", true],
        4029: ["The conversation ended because too many messages were sent at once.", true]
    };

    var MSG = {
        unreachable: "Can't reach the assistant. Check your connection and try again.",
        offline: "You appear to be offline. Check your connection and try again.",
        lost: "The connection to the assistant was lost.",
        micDenied: "Microphone access was blocked. Allow the microphone for this site in your browser settings, then try again.",
        micMissing: "No microphone was found. Connect one and try again.",
        micBusy: "The microphone is in use by another app or can't be opened.",
        micFailed: "The microphone could not be started.",
        unsupported: "This browser can't run voice conversations. Try a recent Chrome, Edge, Firefox or Safari.",
        insecure: "Voice conversations need a secure (https) page.",
        audioFailed: "Audio could not be started on this page.",
        misconfigured: "This assistant is not set up correctly on this page.",
        generic: "Something went wrong with the conversation."
    };

    /* ---- Styles (Shadow DOM: nothing leaks in or out) --------------------- */

    var CSS = [
        ":host{all:initial;position:fixed;bottom:20px;z-index:2147483000;display:block;",
        "--ov-accent:#5b5bf7;--ov-on-accent:#fff;--ov-bg:#fff;--ov-fg:#161827;--ov-muted:#5d6275;",
        "--ov-line:#e3e5ee;--ov-soft:#f3f4f9;--ov-danger:#c62a3a;--ov-danger-bg:#fdecee;",
        "--ov-shadow:0 12px 40px rgba(17,20,45,.22),0 2px 8px rgba(17,20,45,.12);color:var(--ov-fg)}",
        ":host([data-pos=bottom-right]){right:20px}:host([data-pos=bottom-left]){left:20px}",
        ":host([data-mode=dark]){--ov-bg:#171a26;--ov-fg:#eef0f7;--ov-muted:#a3a8ba;--ov-line:#2c3142;",
        "--ov-soft:#222637;--ov-danger:#ff8593;--ov-danger-bg:#3a1d24}",
        "*{box-sizing:border-box}",
        /* Page styles can still reach the host element (and are inherited
         * from it): the wrapper resets every inherited property. */
        ".root{all:initial;display:block;color:var(--ov-fg);",
        "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}",
        "[hidden]{display:none!important}",
        "button{font:inherit;cursor:pointer;border:0;border-radius:10px}",
        "button:focus-visible,input:focus-visible{outline:3px solid var(--ov-accent);outline-offset:2px}",
        ".launch{width:60px;height:60px;border-radius:50%;background:var(--ov-accent);color:var(--ov-on-accent);",
        "display:grid;place-items:center;box-shadow:var(--ov-shadow);transition:transform .15s;position:relative}",
        ".launch:hover{transform:scale(1.06)}",
        ".launch svg{width:28px;height:28px}",
        ".launch .dot{position:absolute;top:4px;right:4px;width:14px;height:14px;border-radius:50%;",
        "background:#21c06b;border:2px solid var(--ov-bg)}",
        ".panel{position:absolute;bottom:74px;width:360px;max-width:calc(100vw - 24px);max-height:min(560px,calc(100vh - 110px));",
        "display:flex;flex-direction:column;background:var(--ov-bg);color:var(--ov-fg);border:1px solid var(--ov-line);",
        "border-radius:18px;box-shadow:var(--ov-shadow);overflow:hidden}",
        ":host([data-pos=bottom-right]) .panel{right:0}:host([data-pos=bottom-left]) .panel{left:0}",
        ".head{display:flex;align-items:center;gap:10px;padding:14px 14px 12px 16px;border-bottom:1px solid var(--ov-line)}",
        ".orb{width:34px;height:34px;flex:none;border-radius:50%;background:radial-gradient(circle at 35% 30%,#fff8,transparent 45%),var(--ov-accent);",
        "box-shadow:0 0 0 calc(var(--lvl,0) * 8px) color-mix(in srgb,var(--ov-accent) 25%,transparent);transition:box-shadow .08s}",
        ".title{flex:1;min-width:0}",
        ".title h2{margin:0;font-size:15px;font-weight:650;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
        ".status{margin:0;font-size:12.5px;color:var(--ov-muted)}",
        ".x{background:transparent;color:var(--ov-muted);width:34px;height:34px;display:grid;place-items:center}",
        ".x:hover{background:var(--ov-soft);color:var(--ov-fg)}",
        ".body{padding:16px;overflow-y:auto;flex:1;min-height:0}",
        ".greet{margin:0 0 12px;font-size:15px}",
        ".notice{margin:0 0 14px;padding:12px;border-radius:12px;background:var(--ov-soft);color:var(--ov-muted);font-size:13px}",
        ".notice strong{color:var(--ov-fg)}",
        ".primary{width:100%;padding:12px 14px;background:var(--ov-accent);color:var(--ov-on-accent);font-weight:600}",
        ".primary:hover{filter:brightness(1.08)}",
        ".secondary{padding:9px 14px;background:var(--ov-soft);color:var(--ov-fg);font-weight:550}",
        ".log{display:flex;flex-direction:column;gap:8px;min-height:120px}",
        ".msg{max-width:85%;padding:8px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere}",
        ".msg.user{align-self:flex-end;background:var(--ov-accent);color:var(--ov-on-accent);border-bottom-right-radius:4px}",
        ".msg.agent{align-self:flex-start;background:var(--ov-soft);border-bottom-left-radius:4px}",
        ".msg.interim{opacity:.65;font-style:italic}",
        ".hint{color:var(--ov-muted);font-size:13px;text-align:center;margin:auto 0}",
        ".err{margin:0 0 12px;padding:12px;border-radius:12px;background:var(--ov-danger-bg);color:var(--ov-danger);font-weight:550}",
        ".bar{display:flex;gap:8px;padding:10px 12px;border-top:1px solid var(--ov-line);align-items:center}",
        ".bar form{flex:1;display:flex;gap:6px;min-width:0}",
        ".bar input{flex:1;min-width:0;font:inherit;padding:9px 11px;border:1px solid var(--ov-line);border-radius:10px;",
        "background:var(--ov-bg);color:var(--ov-fg)}",
        ".icon{width:40px;height:40px;flex:none;display:grid;place-items:center;background:var(--ov-soft);color:var(--ov-fg)}",
        ".icon svg{width:20px;height:20px}",
        ".icon[aria-pressed=true]{background:var(--ov-danger-bg);color:var(--ov-danger)}",
        ".hang{background:var(--ov-danger);color:#fff}",
        ".actions{display:flex;gap:8px;flex-wrap:wrap}",
        ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
        "@media (max-width:480px){:host{bottom:12px}:host([data-pos=bottom-right]){right:12px}",
        ":host([data-pos=bottom-left]){left:12px}.panel{position:fixed;left:8px;right:8px;bottom:84px;width:auto;max-width:none;",
        "max-height:calc(100vh - 100px)}}",
        "@media (prefers-reduced-motion:reduce){.launch,.orb{transition:none}}"
    ].join("");

    var ICON = {
        mic: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/></svg>',
        micOff: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M3 3l18 18M9 9v2a3 3 0 0 0 5 2.2M15 10V6a3 3 0 0 0-5.7-1.3M19 11a7 7 0 0 1-1.1 3.8M5 11a7 7 0 0 0 10.7 5.9M12 18v3"/></svg>',
        phone: '<svg viewBox="0 0 24 24" fill="currentColor" aria-hidden="true"><path d="M12 9c-1.6 0-3.1.25-4.6.7v3.1c0 .4-.2.7-.6.9-1 .5-1.9 1.1-2.7 1.8-.2.2-.4.3-.7.3-.3 0-.5-.1-.7-.3L.3 13.1a1 1 0 0 1 0-1.4C3.3 8.8 7.5 7 12 7s8.7 1.8 11.7 4.7a1 1 0 0 1 0 1.4l-2.4 2.4c-.2.2-.4.3-.7.3-.3 0-.5-.1-.7-.3a11 11 0 0 0-2.7-1.8.9.9 0 0 1-.6-.9V9.7C15.1 9.2 13.6 9 12 9z"/></svg>',
        close: '<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>',
        send: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M4 12l16-8-6 16-2-7-8-1z"/></svg>'
    };

    /* ---- Helpers ----------------------------------------------------------- */

    function el(tag, attrs, kids) {
        var n = document.createElement(tag), k;
        for (k in attrs || {}) {
            if (k === "text") {
                n.textContent = attrs[k];
            } else if (k === "html") {
                n.innerHTML = attrs[k];
            } else if (k.slice(0, 2) === "on") {
                n.addEventListener(k.slice(2), attrs[k]);
            } else if (attrs[k] === true) {
                n.setAttribute(k, "");
            } else if (attrs[k] != null && attrs[k] !== false) {
                n.setAttribute(k, attrs[k]);
            }
        }
        (kids || []).forEach(function (c) {
            if (c != null) {
                n.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
            }
        });
        return n;
    }

    function streamUrl(server, agentId, key) {
        var u = new URL(server, location.href);
        u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
        u.pathname = u.pathname.replace(/\/+$/, "") + "/stream";
        u.search = "?agent=" + encodeURIComponent(agentId) + "&key=" + encodeURIComponent(key);
        u.hash = "";
        return u.toString();
    }

    /* ---- The widget -------------------------------------------------------- */

    function Widget(opts) {
        this.o = opts;
        this.state = "idle";
        this.ws = null;
        this.ctx = null;
        this.capture = null;
        this.player = null;
        this.stream = null;
        this.source = null;
        this.sink = null;
        this.audioReady = null;
        this.muted = false;
        this.micRequested = false;
        this.framesSent = 0;
        this.framesReceived = 0;
        this.queued = 0;
        this.lastCloseCode = null;
        this.tries = 0;
        this.reconnects = 0;
        this.timer = null;
        this.readyTimer = null;
        this.gotReady = false;
        this.mode = null;
        this.transcripts = [];
        this.interim = { user: null, agent: null };
        this.level = 0;
        this.build();
    }

    Widget.prototype.build = function () {
        var self = this, o = this.o, theme = o.theme || {};
        var id = "ov" + Math.random().toString(36).slice(2, 8);
        var mode = theme.mode || (window.matchMedia &&
            matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");

        this.host = document.createElement("orbis-voice");
        this.host.setAttribute("data-pos", o.position === "bottom-left" ? "bottom-left" : "bottom-right");
        this.host.setAttribute("data-mode", mode === "dark" ? "dark" : "light");
        this.root = this.host.attachShadow({ mode: "open" });
        this.root.appendChild(el("style", { text: CSS }));
        if (theme.accent && /^#[0-9a-f]{3,8}$|^[a-z]+$|^(rgb|hsl)a?\([\d\s.,%]+\)$/i.test(theme.accent)) {
            this.host.style.setProperty("--ov-accent", theme.accent);
        }

        var title = o.title || "Voice assistant";

        this.launcher = el("button", {
            "class": "launch", type: "button", "aria-expanded": "false", "aria-controls": id,
            "aria-label": "Open " + title, "data-testid": "ov-launcher",
            html: ICON.mic, onclick: function () { self.toggle(); }
        });
        this.dot = el("span", { "class": "dot", hidden: true, "aria-hidden": "true" });
        this.launcher.appendChild(this.dot);

        this.statusEl = el("p", { "class": "status", "data-testid": "ov-status", "aria-live": "polite" });
        this.orb = el("div", { "class": "orb", "aria-hidden": "true" });

        this.errEl = el("p", { "class": "err", role: "alert", hidden: true, "data-testid": "ov-error" });
        this.retryBtn = el("button", {
            "class": "secondary", type: "button", hidden: true, "data-testid": "ov-retry", text: "Try again",
            onclick: function () { self.start(); }
        });
        this.newBtn = el("button", {
            "class": "secondary", type: "button", hidden: true, "data-testid": "ov-new", text: "Start a new conversation",
            onclick: function () { self.start(); }
        });

        this.consent = el("div", { "data-testid": "ov-consent" }, [
            el("p", { "class": "greet", text: o.greeting || "Hi! Talk to us with your voice." }),
            el("p", { "class": "notice", id: id + "-notice" }, [
                el("strong", { text: "Before you start: " }),
                "this conversation uses your microphone. Your voice is sent to an AI assistant, " +
                "and the conversation is recorded and transcribed by the site owner. " +
                "Your browser will ask for microphone access when the call begins."
            ]),
            el("button", {
                "class": "primary", type: "button", "data-testid": "ov-start", text: "Start conversation",
                "aria-describedby": id + "-notice", onclick: function () { self.start(); }
            })
        ]);

        this.log = el("div", {
            "class": "log", role: "log", "aria-live": "polite", "aria-label": "Conversation transcript",
            "data-testid": "ov-transcript", hidden: true
        });
        this.hint = el("p", { "class": "hint", text: "Say hello. The transcript appears here." });
        this.log.appendChild(this.hint);

        this.muteBtn = el("button", {
            "class": "icon", type: "button", "aria-pressed": "false", "aria-label": "Mute microphone",
            "data-testid": "ov-mute", html: ICON.mic, onclick: function () { self.setMuted(!self.muted); }
        });
        this.textIn = el("input", {
            type: "text", "aria-label": "Type a message", placeholder: "Type a message", autocomplete: "off",
            maxlength: "2000", "data-testid": "ov-text-input"
        });
        this.hangBtn = el("button", {
            "class": "icon hang", type: "button", "aria-label": "End conversation", "data-testid": "ov-hangup",
            html: ICON.phone, onclick: function () { self.hangUp(); }
        });
        this.bar = el("div", { "class": "bar", hidden: true }, [
            this.muteBtn,
            el("form", {
                onsubmit: function (e) { e.preventDefault(); self.sendText(); }
            }, [
                this.textIn,
                el("button", {
                    "class": "icon", type: "submit", "aria-label": "Send message", "data-testid": "ov-text-send",
                    html: ICON.send
                })
            ]),
            this.hangBtn
        ]);

        this.panel = el("div", {
            "class": "panel", id: id, role: "dialog", "aria-modal": "false", "aria-labelledby": id + "-t",
            hidden: true, "data-testid": "ov-panel",
            onkeydown: function (e) {
                if (e.key === "Escape") {
                    self.close();
                }
            }
        }, [
            el("div", { "class": "head" }, [
                this.orb,
                el("div", { "class": "title" }, [el("h2", { id: id + "-t", text: title }), this.statusEl]),
                el("button", {
                    "class": "x", type: "button", "aria-label": "Close panel", "data-testid": "ov-close",
                    html: ICON.close, onclick: function () { self.close(); }
                })
            ]),
            el("div", { "class": "body" }, [
                this.errEl,
                el("div", { "class": "actions" }, [this.retryBtn, this.newBtn]),
                this.consent,
                this.log
            ]),
            this.bar
        ]);

        this.root.appendChild(el("div", { "class": "root" }, [this.panel, this.launcher]));
        (document.body || document.documentElement).appendChild(this.host);

        this.onOffline = function () {
            if (self.state === "live") {
                self.setStatus("You are offline. Waiting for the network…");
            }
        };
        window.addEventListener("offline", this.onOffline);
        this.render();
    };

    Widget.prototype.setStatus = function (t) {
        this.statusEl.textContent = t;
    };

    Widget.prototype.render = function () {
        var s = this.state, live = s === "connecting" || s === "live" || s === "reconnecting";
        this.consent.hidden = s !== "idle";
        this.log.hidden = s === "idle" || (s === "error" && !this.hadCall);
        this.bar.hidden = !live;
        this.dot.hidden = !live;
        this.launcher.setAttribute("aria-label", (live ? "Open conversation in progress: " : "Open ") +
            (this.o.title || "Voice assistant"));
        var status = {
            idle: "Ready when you are",
            connecting: "Connecting…",
            live: this.muted ? "Microphone muted" : "Listening",
            reconnecting: "Reconnecting…",
            ended: "Conversation ended",
            error: "Not connected"
        }[s];
        if (s === "live" && this.mode === "echo") {
            status += " (echo test mode)";
        }
        this.setStatus(status);
        if (s !== "error") {
            this.errEl.hidden = true;
            this.retryBtn.hidden = true;
        }
        this.newBtn.hidden = s !== "ended";
    };

    Widget.prototype.isActive = function () {
        return this.state === "connecting" || this.state === "live" || this.state === "reconnecting";
    };

    Widget.prototype.setState = function (s) {
        this.state = s;
        this.render();
    };

    Widget.prototype.fail = function (msg, canRetry) {
        this.teardown();
        this.state = "error";
        this.render();
        this.errEl.textContent = msg;
        this.errEl.hidden = false;
        this.retryBtn.hidden = !canRetry;
        if (canRetry && this.panel.contains(this.root.activeElement)) {
            this.retryBtn.focus();
        }
    };

    Widget.prototype.toggle = function () {
        if (this.panel.hidden) {
            this.open();
        } else {
            this.close();
        }
    };

    Widget.prototype.open = function () {
        this.panel.hidden = false;
        this.launcher.setAttribute("aria-expanded", "true");
        var f = this.state === "idle" ? this.consent.querySelector("button") :
            (!this.retryBtn.hidden ? this.retryBtn : (!this.newBtn.hidden ? this.newBtn :
                (!this.bar.hidden ? this.muteBtn : null)));
        (f || this.panel.querySelector(".x")).focus();
    };

    Widget.prototype.close = function () {
        this.panel.hidden = true;
        this.launcher.setAttribute("aria-expanded", "false");
        this.launcher.focus();
    };

    /* ---- Call lifecycle ---------------------------------------------------- */

    Widget.prototype.start = function () {
        var self = this;
        if (this.isActive()) {
            return;
        }
        if (!this.o.agentId || !this.o.apiKey) {
            return this.fail(MSG.misconfigured, false);
        }
        if (!window.WebSocket || !window.AudioContext && !window.webkitAudioContext ||
            !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
            return this.fail(window.isSecureContext === false ? MSG.insecure : MSG.unsupported, false);
        }
        if (navigator.onLine === false) {
            return this.fail(MSG.offline, true);
        }
        this.clearLog();
        this.tries = 0;
        this.gotReady = false;
        this.hadCall = false;
        this.lastCloseCode = null;
        this.setMuted(false);
        this.setState("connecting");
        this.panel.hidden = false;
        this.launcher.setAttribute("aria-expanded", "true");
        this.hangBtn.focus();

        /* The AudioContext is created inside the click so autoplay rules let
         * it run; the worklets load while the socket connects. */
        try {
            var AC = window.AudioContext || window.webkitAudioContext;
            this.ctx = new AC({ latencyHint: "interactive" });
            if (!this.ctx.audioWorklet) {
                throw new Error("no AudioWorklet");
            }
            if (this.ctx.resume) {
                this.ctx.resume();
            }
        } catch (e) {
            return this.fail(MSG.unsupported, false);
        }
        var ctx = this.ctx;
        this.audioReady = this.setupAudio().catch(function () {
            /* A call that already ended closed the context under the
             * worklet loader: that is not an audio failure. */
            if (self.ctx === ctx && self.isActive()) {
                self.fail(MSG.audioFailed, true);
            }
            throw new Error("audio");
        });
        this.audioReady.catch(function () { /* handled */ });
        this.connect();
    };

    Widget.prototype.setupAudio = function () {
        var self = this, ctx = this.ctx;
        function load(src) {
            var url = URL.createObjectURL(new Blob([src], { type: "application/javascript" }));
            return ctx.audioWorklet.addModule(url).then(function () {
                URL.revokeObjectURL(url);
            }, function () {
                URL.revokeObjectURL(url);
                return ctx.audioWorklet.addModule("data:application/javascript;charset=utf-8," +
                    encodeURIComponent(src));
            });
        }
        return Promise.all([load(CAPTURE_SRC), load(PLAYER_SRC)]).then(function () {
            if (self.ctx !== ctx) {
                throw new Error("stale");
            }
            self.player = new AudioWorkletNode(ctx, "orbis-player", {
                numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1],
                processorOptions: { inRate: OUTPUT_RATE, prerollMs: PREROLL_MS }
            });
            self.player.port.onmessage = function (e) {
                self.queued = e.data.q;
            };
            self.player.connect(ctx.destination);
            self.capture = new AudioWorkletNode(ctx, "orbis-capture", {
                numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
                processorOptions: { outRate: INPUT_RATE, frameMs: FRAME_MS }
            });
            self.capture.port.onmessage = function (e) {
                self.onFrame(e.data);
            };
            /* A silent sink keeps the capture node pulled by the graph. */
            self.sink = ctx.createGain();
            self.sink.gain.value = 0;
            self.capture.connect(self.sink);
            self.sink.connect(ctx.destination);
            if (self.rates) {
                self.applyRates();
            }
        });
    };

    Widget.prototype.applyRates = function () {
        if (this.capture && this.rates.input !== INPUT_RATE) {
            this.capture.port.postMessage({ cmd: "rate", rate: this.rates.input });
        }
        if (this.player && this.rates.output !== OUTPUT_RATE) {
            this.player.port.postMessage({ cmd: "rate", rate: this.rates.output });
        }
    };

    Widget.prototype.connect = function () {
        var self = this, ws;
        this.gotReady = false;
        try {
            ws = new WebSocket(streamUrl(this.o.server, this.o.agentId, this.o.apiKey));
        } catch (e) {
            return this.fail(MSG.misconfigured, false);
        }
        ws.binaryType = "arraybuffer";
        this.ws = ws;
        this.readyTimer = setTimeout(function () {
            if (self.ws === ws && !self.gotReady) {
                ws.close(4900, "no ready");
                self.onClose(ws, 1006);
            }
        }, READY_TIMEOUT_MS);
        ws.onmessage = function (e) {
            if (self.ws === ws) {
                self.onMessage(e.data);
            }
        };
        ws.onclose = function (e) {
            self.onClose(ws, e.code);
        };
    };

    Widget.prototype.onMessage = function (data) {
        var m;
        if (typeof data !== "string") {
            this.framesReceived++;
            if (data.byteLength & 1) {
                data = data.slice(0, data.byteLength - 1);
            }
            if (this.player && data.byteLength) {
                this.player.port.postMessage(data, [data]);
            }
            return;
        }
        try {
            m = JSON.parse(data);
        } catch (e) {
            return;
        }
        switch (m.type) {
        case "ready":
            this.onReady(m);
            break;
        case "transcript":
            this.onTranscript(m.role === "user" ? "user" : "agent", String(m.text || ""), !!m.final);
            break;
        case "interrupted":
            if (this.player) {
                this.player.port.postMessage({ cmd: "clear" });
            }
            this.queued = 0;
            break;
        case "turn_complete":
            if (this.player) {
                this.player.port.postMessage({ cmd: "flush" });
            }
            break;
        case "tool":
            if (this.state === "live") {
                this.setStatus(m.status === "started" || m.status === "running" ?
                    "Working on it…" : (this.muted ? "Microphone muted" : "Listening"));
            }
            break;
        case "error":
            this.serverError = String(m.message || "");
            break;
        }
    };

    Widget.prototype.onReady = function (m) {
        var self = this;
        clearTimeout(this.readyTimer);
        this.gotReady = true;
        this.hadCall = true;
        this.tries = 0;
        this.mode = m.mode === "echo" ? "echo" : "live";
        this.rates = {
            input: m.inputRate > 0 ? m.inputRate : INPUT_RATE,
            output: m.outputRate > 0 ? m.outputRate : OUTPUT_RATE
        };
        if (this.capture) {
            this.applyRates();
        }
        if (this.stream) {
            this.setState("live");
            return;
        }
        this.micRequested = true;
        navigator.mediaDevices.getUserMedia({
            audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 }
        }).then(function (stream) {
            if (!self.isActive()) {
                stream.getTracks().forEach(function (t) { t.stop(); });
                return;
            }
            self.stream = stream;
            return self.audioReady.then(function () {
                self.source = self.ctx.createMediaStreamSource(stream);
                self.source.connect(self.capture);
                self.setState("live");
                if (self.panel.contains(self.root.activeElement) || self.root.activeElement === null) {
                    self.muteBtn.focus();
                }
            });
        }, function (err) {
            if (self.state === "error" || self.state === "ended") {
                return;
            }
            var n = err && err.name;
            self.endSocket();
            self.fail(n === "NotAllowedError" || n === "SecurityError" ? MSG.micDenied :
                n === "NotFoundError" || n === "OverconstrainedError" ? MSG.micMissing :
                n === "NotReadableError" ? MSG.micBusy : MSG.micFailed, true);
        }).catch(function () { /* audio setup failure is reported by start() */ });
    };

    Widget.prototype.onFrame = function (d) {
        var ws = this.ws;
        this.level = this.level * 0.6 + Math.min(1, d.level * 6) * 0.4;
        this.orb.style.setProperty("--lvl", this.muted ? 0 : this.level.toFixed(3));
        if (ws && ws.readyState === 1 && this.gotReady && this.state === "live") {
            ws.send(d.pcm);
            this.framesSent++;
        }
    };

    Widget.prototype.onClose = function (ws, code) {
        var self = this, info, delay;
        if (this.ws !== ws) {
            return;
        }
        clearTimeout(this.readyTimer);
        this.ws = null;
        this.lastCloseCode = code;
        if (this.player) {
            this.player.port.postMessage({ cmd: "clear" });
        }
        this.queued = 0;
        if (!this.isActive()) {
            return;
        }
        info = CLOSE_MESSAGES[code];
        if (info) {
            return this.fail(info[0], info[1]);
        }
        if (code === 1000) {
            this.teardown();
            return this.setState("ended");
        }
        if (code >= 4000 && code < 5000) {
            return this.fail(this.serverError || MSG.generic, true);
        }
        /* Abnormal close.  Before the first "ready" there is no call to save:
         * the server may have refused the handshake or be unreachable. */
        if (!this.hadCall) {
            return this.fail(navigator.onLine === false ? MSG.offline : MSG.unreachable, true);
        }
        if (this.tries >= BACKOFF_MS.length) {
            return this.fail(navigator.onLine === false ? MSG.offline : MSG.lost, true);
        }
        delay = BACKOFF_MS[this.tries++];
        this.reconnects++;
        this.orb.style.setProperty("--lvl", 0);
        this.setState("reconnecting");
        this.timer = setTimeout(function () {
            self.timer = null;
            if (self.state === "reconnecting") {
                self.connect();
            }
        }, delay);
    };

    Widget.prototype.endSocket = function () {
        var ws = this.ws;
        this.ws = null;
        clearTimeout(this.readyTimer);
        clearTimeout(this.timer);
        this.timer = null;
        if (ws) {
            try {
                if (ws.readyState === 1) {
                    ws.send(JSON.stringify({ type: "end" }));
                }
                ws.close(1000);
            } catch (e) { /* already closing */ }
            this.lastCloseCode = 1000;
        }
    };

    Widget.prototype.hangUp = function () {
        var wasLive = this.isActive();
        this.endSocket();
        this.teardown();
        if (wasLive) {
            this.setState("ended");
            this.newBtn.focus();
        }
    };

    Widget.prototype.teardown = function () {
        clearTimeout(this.timer);
        clearTimeout(this.readyTimer);
        this.timer = null;
        if (this.ws) {
            var ws = this.ws;
            this.ws = null;
            try { ws.close(1000); } catch (e) { /* ignore */ }
        }
        if (this.stream) {
            this.stream.getTracks().forEach(function (t) { t.stop(); });
            this.stream = null;
        }
        if (this.player) {
            this.player.port.onmessage = null;
        }
        if (this.capture) {
            this.capture.port.onmessage = null;
        }
        if (this.ctx) {
            try { this.ctx.close(); } catch (e) { /* ignore */ }
        }
        this.ctx = this.capture = this.player = this.source = this.sink = null;
        this.queued = 0;
        this.level = 0;
        this.orb.style.setProperty("--lvl", 0);
        this.interim = { user: null, agent: null };
        this.log.querySelectorAll(".interim").forEach(function (n) { n.remove(); });
    };

    Widget.prototype.setMuted = function (on) {
        this.muted = !!on;
        if (this.capture) {
            this.capture.port.postMessage({ cmd: "mute", on: this.muted });
        }
        if (this.stream) {
            var m = this.muted;
            this.stream.getAudioTracks().forEach(function (t) { t.enabled = !m; });
        }
        this.muteBtn.setAttribute("aria-pressed", String(this.muted));
        this.muteBtn.setAttribute("aria-label", this.muted ? "Unmute microphone" : "Mute microphone");
        this.muteBtn.innerHTML = this.muted ? ICON.micOff : ICON.mic;
        if (this.state === "live") {
            this.render();
        }
    };

    Widget.prototype.sendText = function () {
        var t = this.textIn.value.trim();
        if (!t || !this.ws || this.ws.readyState !== 1 || !this.gotReady) {
            return;
        }
        this.ws.send(JSON.stringify({ type: "text", text: t }));
        this.textIn.value = "";
        this.onTranscript("user", t, true);
    };

    /* ---- Transcript -------------------------------------------------------- */

    Widget.prototype.clearLog = function () {
        this.transcripts = [];
        this.interim = { user: null, agent: null };
        this.log.textContent = "";
        this.log.appendChild(this.hint);
        this.hint.hidden = false;
        this.serverError = "";
    };

    Widget.prototype.onTranscript = function (role, text, final) {
        var cur = this.interim[role], n;
        this.hint.hidden = true;
        if (!final) {
            if (!cur) {
                cur = el("div", { "class": "msg interim " + role, "aria-hidden": "true", "data-role": role });
                this.interim[role] = cur;
                this.log.appendChild(cur);
            }
            cur.textContent = text;
        } else {
            if (cur) {
                cur.remove();
                this.interim[role] = null;
            }
            if (text) {
                n = el("div", { "class": "msg " + role, "data-role": role, "data-testid": "ov-msg" }, [
                    el("span", { "class": "sr", text: role === "user" ? "You: " : "Assistant: " }),
                    text
                ]);
                this.log.appendChild(n);
                this.transcripts.push({ role: role, text: text, final: true });
                if (this.transcripts.length > 200) {
                    this.transcripts.shift();
                }
            }
        }
        this.log.parentNode.scrollTop = this.log.parentNode.scrollHeight;
    };

    Widget.prototype.debug = function () {
        var t = this.transcripts.slice(), r;
        for (r in this.interim) {
            if (this.interim[r]) {
                t.push({ role: r, text: this.interim[r].textContent, final: false });
            }
        }
        return {
            state: this.state,
            mode: this.mode,
            queuedSamples: this.queued,
            framesSent: this.framesSent,
            framesReceived: this.framesReceived,
            transcripts: t,
            lastCloseCode: this.lastCloseCode,
            micRequested: this.micRequested,
            muted: this.muted,
            reconnects: this.reconnects,
            panelOpen: !this.panel.hidden
        };
    };

    Widget.prototype.destroy = function () {
        this.endSocket();
        this.teardown();
        window.removeEventListener("offline", this.onOffline);
        this.host.remove();
    };

    /* ---- Public API -------------------------------------------------------- */

    var widget = null;

    function init(opts) {
        opts = opts || {};
        if (widget) {
            widget.destroy();
        }
        var o = {
            agentId: opts.agentId ? String(opts.agentId) : "",
            apiKey: opts.apiKey ? String(opts.apiKey) : "",
            server: opts.server ? String(opts.server) : scriptOrigin,
            position: opts.position,
            theme: opts.theme,
            greeting: opts.greeting,
            title: opts.title
        };
        if (!o.agentId || !o.apiKey) {
            console.warn("OrbisVoice.init: agentId and apiKey are required");
        }
        function go() {
            widget = new Widget(o);
            if (opts.open) {
                widget.open();
            }
        }
        if (document.body) {
            go();
        } else {
            document.addEventListener("DOMContentLoaded", go);
        }
        return api;
    }

    function call(fn) {
        return function () {
            if (widget) {
                return widget[fn].apply(widget, arguments);
            }
        };
    }

    var api = {
        __orbis: true,
        version: "0.1.0",
        init: init,
        open: call("open"),
        close: call("close"),
        start: call("start"),
        end: call("hangUp"),
        mute: call("setMuted"),
        destroy: function () {
            if (widget) {
                widget.destroy();
                widget = null;
            }
        },
        _debug: function () {
            return widget ? widget.debug() : { state: "uninitialised" };
        }
    };

    var queued = window.OrbisVoice && window.OrbisVoice.q;
    window.OrbisVoice = api;

    if (Array.isArray(queued)) {
        queued.forEach(function (item) {
            var args = Array.prototype.slice.call(item);
            var fn = api[args.shift()];
            if (typeof fn === "function") {
                fn.apply(api, args);
            }
        });
    }

    /* <script src=".../widget.js" data-agent-id="..." data-api-key="..."> */
    var cs = document.currentScript;
    if (cs && cs.dataset && cs.dataset.agentId && cs.dataset.apiKey && !widget) {
        init({
            agentId: cs.dataset.agentId,
            apiKey: cs.dataset.apiKey,
            server: cs.dataset.server,
            position: cs.dataset.position,
            greeting: cs.dataset.greeting,
            theme: { accent: cs.dataset.accent, mode: cs.dataset.mode }
        });
    }

    try {
        window.dispatchEvent(new CustomEvent("orbisvoice:ready"));
    } catch (e) { /* very old browser */ }
})();
