// framechat web client: the cs168 protocol over a WebSocket. Every message
// is a 200-byte frame (UTF-8 text padded with spaces); the server's frames
// arrive in binary WebSocket messages. Everything from the network is
// shown with textContent, never as HTML.
"use strict";

const FRAME = 200;
const enc = new TextEncoder();
const dec = new TextDecoder();
const $ = (id) => document.getElementById(id);

const state = {
  name: "", channel: "", pendingJoin: "", ws: null, buf: new Uint8Array(0), wantList: 0, retry: 0,
  rejoining: false, // after a reconnect, until the old channel is joined again or found gone
  refused: false, // the server refused the name: do not reconnect
};

// Errors the server sends, in the course spec's words.
const errorPatterns = [
  / is not a valid control message\. /, /^No channel named /, /^\/join command must/,
  /^\/create command must/, /^Room .* already exists/, /^Not currently in any channel/,
  /^Channel names must/, /^Someone called .* is in channel /, /^Server is full/,
  /^Channels cannot be changed right now/,
];

// The server refuses a name with this, then closes the connection.
const nameRefused = / is not a valid name: use /;

// The server's name rule (names.go): letters, digits, '_', '-' and '.',
// 1 to 100 bytes, Latin letters not mixed with Greek or Cyrillic ones.
function nameProblem(name) {
  if (!name) return "Type a name.";
  if (enc.encode(name).length > 100) return "That name is too long: at most 100 bytes.";
  if (!/^[\p{L}\p{N}_.-]+$/u.test(name)) return "Use letters, digits, '_', '-' or '.' only: no spaces or other signs.";
  if (/\p{Script=Latin}/u.test(name) && /[\p{Script=Greek}\p{Script=Cyrillic}]/u.test(name)) {
    return "Do not mix Latin letters with Greek or Cyrillic ones.";
  }
  return "";
}

// visible shows the invisible characters that reorder text (bidirectional
// embeddings, overrides and isolates) as escapes, so that a message cannot
// make the page show its words in another order.
function visible(text) {
  return text.replace(/[\u202a-\u202e\u2066-\u2069]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

// chatFrames encodes a chat line as frames that each leave room for the
// "[name] " the server puts in front, so that every piece reaches the
// others whole, with the prefix, as the terminal client's do.
function chatFrames(text) {
  return frames(text, FRAME - enc.encode("[" + state.name + "] ").length);
}

// frames encodes text as one or more frames of at most room bytes of text
// each (a whole frame if room is not given), never cutting a character.
function frames(text, room = FRAME) {
  const out = [];
  let bytes = enc.encode(text);
  do { // at least one frame, even for empty text
    let n = Math.min(bytes.length, room);
    while (n < bytes.length && n > 0 && (bytes[n] & 0xc0) === 0x80) n--; // continuation byte
    const f = new Uint8Array(FRAME).fill(0x20);
    f.set(bytes.subarray(0, n));
    out.push(f);
    bytes = bytes.subarray(n);
  } while (bytes.length > 0);
  return out;
}

function connected() {
  return state.ws !== null && state.ws.readyState === WebSocket.OPEN;
}

function send(text, encode = frames) {
  if (!connected()) return false;
  for (const f of encode(text)) state.ws.send(f);
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
    b.textContent = visible(from);
    li.append(b);
  }
  li.append(document.createTextNode(visible(text)));
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
  $("room-title").textContent = "#" + visible(channel);
  show("notice", "You are in " + channel);
  requestList();
}

// leaveTitle says the user is in no channel.
function leaveTitle() {
  state.channel = "";
  $("room-title").textContent = "No channel yet: create or join one";
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
  if (nameRefused.test(text)) return refuseName(text);
  const chat = /^\[([^\]]*)\] ([\s\S]*)$/.exec(text);
  if (chat) return show("chat", chat[2], chat[1]);
  if (/ has (joined|left)$/.test(text) || text === "Server is shutting down.") return show("notice", text);
  if (errorPatterns.some((p) => p.test(text))) {
    if (!text.startsWith("Not currently")) state.pendingJoin = ""; // the /join or /create failed
    if (state.rejoining) { // the channel we were in is gone (a restarted server)
      state.rejoining = false;
      return show("error", text + " (The server restarted; your channel is gone: create or join one.)");
    }
    return show("error", text);
  }
  if (state.wantList > 0) { // the reply to /list: names, one per line
    state.wantList--;
    const names = text === "" ? [] : text.split("\n");
    if (state.pendingJoin && names.includes(state.pendingJoin)) {
      enter(state.pendingJoin);
      state.pendingJoin = "";
      state.rejoining = false;
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
    if (state.channel) { // after a reconnect: in no channel until the rejoin is done
      const ch = state.channel;
      leaveTitle();
      state.rejoining = true;
      join(ch);
    } else {
      requestList();
    }
  };
  ws.onmessage = (e) => onData(e.data);
  ws.onclose = () => {
    if (state.ws !== ws || state.refused) return;
    const wait = Math.min(30, 2 ** state.retry++);
    setStatus("disconnected: reconnecting in " + wait + "s", "offline");
    show("error", "Disconnected from the server. Reconnecting in " + wait + "s…");
    setTimeout(connect, wait * 1000);
  };
}

// refuseName goes back to the login form with the server's reason; the
// server closes the connection, and the page does not reconnect.
function refuseName(text) {
  state.refused = true;
  if (state.ws) state.ws.close();
  state.ws = null;
  setStatus("not connected", "offline");
  $("chat").hidden = true;
  $("login").hidden = false;
  $("name-error").textContent = "The server refused that name: " + text;
  $("name").focus();
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("name").value.trim();
  const problem = nameProblem(name);
  $("name-error").textContent = problem;
  if (problem) return;
  state.name = name;
  state.refused = false;
  state.channel = "";
  $("messages").replaceChildren();
  leaveTitle();
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
  if (!connected()) { // keep what was typed: it is sent when the user sends again
    show("error", "Not sent: the page is not connected to the server. Your message stays in the box; send it again once reconnected.");
    return;
  }
  if (text.startsWith("/")) { // commands go as typed
    send(text);
    if (text === "/list") state.wantList++;
  } else if (!state.channel) {
    show("error", "Create or join a channel first.");
  } else {
    send(text, chatFrames);
    show("mine", text);
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
