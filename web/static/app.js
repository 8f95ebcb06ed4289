// framechat web client: the cs168 dialect over a WebSocket. Every message
// is a 200-byte frame (UTF-8 text padded with spaces); the server's frames
// arrive in binary WebSocket messages. Everything from the network is
// shown with textContent, never as HTML.
"use strict";

const FRAME = 200;
const enc = new TextEncoder();
const dec = new TextDecoder();
const $ = (id) => document.getElementById(id);

const state = { name: "", channel: "", pendingJoin: "", ws: null, buf: new Uint8Array(0), wantList: 0, retry: 0 };

// Errors the server sends, in the course spec's words.
const errorPatterns = [
  / is not a valid control message\. /, /^No channel named /, /^\/join command must/,
  /^\/create command must/, /^Room .* already exists/, /^Not currently in any channel/,
  /^Channel names must/, / is not a valid name\. /, /^Server is full/,
];

// frames encodes text as one or more frames, never cutting a character.
function frames(text) {
  const out = [];
  let bytes = enc.encode(text);
  do { // at least one frame, even for empty text
    let n = Math.min(bytes.length, FRAME);
    while (n < bytes.length && n > 0 && (bytes[n] & 0xc0) === 0x80) n--; // continuation byte
    const f = new Uint8Array(FRAME).fill(0x20);
    f.set(bytes.subarray(0, n));
    out.push(f);
    bytes = bytes.subarray(n);
  } while (bytes.length > 0);
  return out;
}

function send(text) {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
  for (const f of frames(text)) state.ws.send(f);
  return true;
}

function setStatus(text, cls) {
  const s = $("status");
  s.textContent = text;
  s.className = "status " + cls;
}

function show(kind, text, from) {
  const li = document.createElement("li");
  li.className = kind;
  if (from !== undefined) {
    const b = document.createElement("span");
    b.className = "from";
    b.textContent = from;
    li.append(b);
  }
  li.append(document.createTextNode(text));
  const list = $("messages");
  list.append(li);
  list.scrollTop = list.scrollHeight;
}

function showChannels(names) {
  const ul = $("channel-list");
  ul.replaceChildren();
  for (const n of names) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = n;
    b.dataset.channel = n;
    if (n === state.channel) b.className = "current";
    b.addEventListener("click", () => join(n));
    li.append(b);
    ul.append(li);
  }
}

function enter(channel) {
  state.channel = channel;
  $("room-title").textContent = "#" + channel;
  show("notice", "You are in " + channel);
  requestList();
}

function join(channel) {
  if (channel === state.channel) return;
  state.pendingJoin = channel;
  send("/join " + channel);
  requestList(); // the reply to /list tells us the /join was handled
}

function requestList() {
  state.wantList++;
  send("/list");
}

// onFrame handles one frame from the server.
function onFrame(text) {
  const chat = /^\[([^\]]*)\] ([\s\S]*)$/.exec(text);
  if (chat) return show("chat", chat[2], chat[1]);
  if (/ has (joined|left)$/.test(text) || text === "Server is shutting down.") return show("notice", text);
  if (errorPatterns.some((p) => p.test(text))) {
    if (!text.startsWith("Not currently")) state.pendingJoin = ""; // the /join or /create failed
    return show("error", text);
  }
  if (state.wantList > 0) { // the reply to /list: names, one per line
    state.wantList--;
    const names = text === "" ? [] : text.split("\n");
    if (state.pendingJoin && names.includes(state.pendingJoin)) {
      enter(state.pendingJoin);
      state.pendingJoin = "";
      return;
    }
    return showChannels(names);
  }
  show("notice", text);
}

function onData(data) {
  const chunk = new Uint8Array(data);
  const all = new Uint8Array(state.buf.length + chunk.length);
  all.set(state.buf);
  all.set(chunk, state.buf.length);
  let off = 0;
  for (; off + FRAME <= all.length; off += FRAME) {
    onFrame(dec.decode(all.subarray(off, off + FRAME)).replace(/ +$/, ""));
  }
  state.buf = all.slice(off);
}

function connect() {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
  setStatus("connecting…", "connecting");
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  state.buf = new Uint8Array(0);
  state.wantList = 0;
  ws.onopen = () => {
    state.retry = 0;
    setStatus("connected as " + state.name, "online");
    send(state.name);
    if (state.channel) { // after a reconnect: back to where we were
      const ch = state.channel;
      state.channel = "";
      join(ch);
    } else {
      requestList();
    }
  };
  ws.onmessage = (e) => onData(e.data);
  ws.onclose = () => {
    if (state.ws !== ws) return;
    const wait = Math.min(30, 2 ** state.retry++);
    setStatus("disconnected: reconnecting in " + wait + "s", "offline");
    show("error", "Disconnected from the server. Reconnecting in " + wait + "s…");
    setTimeout(connect, wait * 1000);
  };
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("name").value.trim();
  if (!name || name.startsWith("/")) return;
  state.name = name;
  $("login").hidden = true;
  $("chat").hidden = false;
  connect();
  $("text").focus();
});

$("say").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("text");
  const text = input.value.replace(/[\r\n]+/g, " ").trim();
  if (!text) return;
  if (text.startsWith("/")) { // commands go as typed
    send(text);
    if (text === "/list") state.wantList++;
  } else if (send(text) && state.channel) {
    show("mine", text);
  } else if (!state.channel) {
    show("error", "Create or join a channel first.");
  }
  input.value = "";
});

$("create").addEventListener("submit", (e) => {
  e.preventDefault();
  const ch = $("new-channel").value.trim();
  if (!ch) return;
  send("/create " + ch);
  state.pendingJoin = ch;
  requestList();
  $("new-channel").value = "";
});

$("refresh").addEventListener("click", requestList);
