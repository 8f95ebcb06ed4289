// framechat web client: the webchat protocol (PROTOCOL.md, "webchat"),
// one JSON object per WebSocket message, at /chat. Several rooms at once,
// each with its own log; lines are placed by their offset in the room's
// history, so that the scrollback, the lines recovered after a reconnect
// and the live ones show each line once, in order. Everything from the
// network is shown with textContent, never as HTML, and names and texts
// are isolated for bidirectional text (<bdi>, dir=auto).
"use strict";

const $ = (id) => document.getElementById(id);
const enc = new TextEncoder();
const SCROLLBACK = 50; // lines asked for on entering a room
const KEEP = 1000; // lines kept per room in the page
const STORE = "framechat"; // localStorage key: {name, rooms, current}

const state = {
  name: "", ws: null, retry: 0, refused: false, online: false,
  rooms: new Map(), // room name → room (see newRoom), in join order
  current: "", // the room shown
  others: [], // rooms of the server the user is not in
  nextID: 1,
  reqs: new Map(), // request id → what it was for ({op, room, rejoin, tries})
};

// The server's name rule (names.go): letters, digits, '_', '-' and '.',
// at most limits.name bytes, Latin letters not mixed with Greek or
// Cyrillic ones. The server has the last word.
let maxName = 100;
function nameProblem(name) {
  if (!name) return "Type a name.";
  if (enc.encode(name).length > maxName) return `That name is too long: at most ${maxName} bytes.`;
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
  return String(text).replace(/[\u202a-\u202e\u2066-\u2069]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v;
    else if (k === "data") Object.assign(e.dataset, v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function save() {
  try {
    localStorage.setItem(STORE, JSON.stringify({ name: state.name, rooms: [...state.rooms.keys()], current: state.current }));
  } catch (_) { /* private mode: nothing kept */ }
}

function load() {
  try { return JSON.parse(localStorage.getItem(STORE) || "{}") || {}; } catch (_) { return {}; }
}

function connected() { return state.ws !== null && state.ws.readyState === WebSocket.OPEN; }

// send sends a request with an id, remembering what it was for.
function send(req, meta = {}) {
  if (!connected()) return false;
  req.id = state.nextID++;
  state.reqs.set(req.id, { ...meta, op: req.op, room: req.room });
  state.ws.send(JSON.stringify(req));
  return true;
}

function setStatus(text, cls) {
  const s = $("status");
  s.textContent = text;
  s.className = "status " + cls;
}

// A room the user is in (or was in before a reconnect): its log, where it
// is in the room's history, its members.
function newRoom(name) {
  const log = newLog("Messages in " + visible(name));
  log.hidden = true;
  $("logs").append(log);
  return { name, log, offsets: new Set(), last: 0, epoch: "", first: 0, members: [], unread: 0, joined: false };
}

// newLog makes a log: a scrolling region (role log) around a list of
// lines.
function newLog(label) {
  return el("div", { class: "log", role: "log", "aria-label": label, tabindex: "0" }, el("ol"));
}

// items is the list of a log's lines.
function items(log) { return log.firstElementChild; }

// The log shown when no room is: the page's own notices and errors.
const lobbyLog = newLog("Messages");

function currentLog() {
  const r = state.rooms.get(state.current);
  return r ? r.log : lobbyLog;
}

function nearBottom(log) { return log.scrollTop + log.clientHeight >= log.scrollHeight - 40; }

// note shows a line of the page's own (kind: event, notice, error) in log.
function note(kind, text, log = currentLog()) {
  const stick = nearBottom(log);
  items(log).append(el("li", { class: kind, text: visible(text), dir: "auto" }));
  trim(log);
  if (stick || kind === "error") log.scrollTop = log.scrollHeight;
}

function trim(log) {
  const list = items(log);
  while (list.children.length > KEEP) list.firstElementChild.remove();
}

function clock(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return null;
  return el("time", {
    datetime: iso, title: d.toLocaleString(),
    text: d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
  });
}

// addLine shows a line of a room (a line event, or a line of a history
// page) once, in offset order; old marks the scrollback, placed before
// the lines shown if it is older than all of them.
// renumber notes that the room's history is numbered anew (it was
// deleted, or the server lost its last lines in a crash): the offsets
// shown so far are of the old numbering, so they no longer tell a line
// that is shown from one that is not, nor where a line goes.
function renumber(room, epoch) {
  if (room.epoch && epoch && epoch !== room.epoch) {
    room.offsets = new Set();
    room.last = 0;
    for (const li of room.log.querySelectorAll("li[data-offset]")) delete li.dataset.offset;
    note("notice", "The history of this room was started again: earlier lines are above.", room.log);
  }
  if (epoch) room.epoch = epoch;
}

function addLine(room, l, old) {
  if (l.offset) {
    if (l.epoch) renumber(room, l.epoch);
    if (room.offsets.has(l.offset)) return false;
    room.offsets.add(l.offset);
    room.last = Math.max(room.last, l.offset);
  }
  const mine = l.from === state.name && (l.kind !== "whisper" || l.to !== state.name);
  const li = el("li", { class: l.kind + (mine ? " mine" : "") });
  if (l.offset) li.dataset.offset = l.offset;
  const t = clock(l.time);
  if (t) li.append(t);
  if (l.from) {
    let who = el("bdi", { class: "from", text: visible(l.from) });
    if (l.kind === "whisper") {
      who = el("span", { class: "from" }, el("bdi", { text: visible(l.from) }), " → ", el("bdi", { text: visible(l.to || "") }), " (whisper)");
    } else if (l.kind === "action") {
      li.append("* ");
    }
    li.append(who);
  }
  // A whisper's mark says an action (IRC's /me) or a notice; an action's
  // text is what the sender does.
  const text = l.mark === "action" ? "* " + l.text : l.text;
  li.append(el("span", { class: "text", dir: "auto", text: visible(text) }));

  const log = room.log;
  const stick = nearBottom(log) || mine;
  let ref = null, found = false;
  if (l.offset) {
    for (let c = items(log).lastElementChild; c; c = c.previousElementSibling) {
      const o = Number(c.dataset.offset || 0);
      if (!o) continue;
      if (o > l.offset) { ref = c; continue; }
      found = true;
      break;
    }
    if (!found && old) ref = firstLine(log);
  }
  items(log).insertBefore(li, ref);
  trim(log);
  if (stick && !old) log.scrollTop = log.scrollHeight;
  return true;
}

function firstLine(log) {
  const c = items(log).firstElementChild;
  return c && c.classList.contains("more") ? c.nextElementSibling : c;
}

function renderRooms() {
  const unread = [...state.rooms.values()].reduce((n, r) => n + r.unread, 0);
  document.title = (unread ? `(${unread}) ` : "") + "framechat";
  const ul = $("room-list");
  ul.replaceChildren();
  for (const r of state.rooms.values()) {
    const badge = el("span", { class: "unread", text: r.unread ? String(r.unread) : "" });
    if (r.unread) badge.setAttribute("aria-label", r.unread + " unread");
    const b = el("button", { type: "button", data: { room: r.name }, class: r.name === state.current ? "current" : "" },
      el("bdi", { text: visible(r.name) }), badge);
    if (r.name === state.current) b.setAttribute("aria-current", "true");
    b.addEventListener("click", () => show(r.name));
    ul.append(el("li", {}, b));
  }
  const ol = $("other-list");
  ol.replaceChildren();
  for (const n of state.others) {
    if (state.rooms.has(n)) continue;
    const b = el("button", { type: "button", data: { join: n }, "aria-label": "Join " + visible(n) }, el("bdi", { text: visible(n) }));
    b.addEventListener("click", () => join(n));
    ol.append(el("li", {}, b));
  }
  $("others-title").hidden = ol.children.length === 0;
}

function renderMembers() {
  const r = state.rooms.get(state.current);
  const names = r ? r.members : [];
  $("members-count").textContent = `Members (${names.length})`;
  $("member-list").replaceChildren(...names.map((n) => el("li", {}, el("bdi", { text: visible(n) }))));
}

// show makes room the one shown.
function show(name) {
  const r = state.rooms.get(name);
  state.current = r ? name : "";
  for (const x of state.rooms.values()) x.log.hidden = x !== r;
  lobbyLog.hidden = !!r;
  $("room-title").textContent = r ? "#" + visible(name) : "No room yet: join or create one";
  $("leave").hidden = !r;
  if (r) {
    r.unread = 0;
    r.log.scrollTop = r.log.scrollHeight;
  }
  renderRooms();
  renderMembers();
  save();
}

function join(name, meta = {}) {
  if (state.rooms.has(name) && state.rooms.get(name).joined && !meta.rejoin) return show(name);
  // A room left by a reconnect is made again if the server lost it (a
  // restart): the recover then says what is missing.
  send({ op: "join", room: name, mode: "any" }, { show: !meta.rejoin, ...meta });
}

function dropRoom(name) {
  const r = state.rooms.get(name);
  if (!r) return;
  r.log.remove();
  state.rooms.delete(name);
  if (state.current === name) show(state.rooms.size ? state.rooms.keys().next().value : "");
  else { renderRooms(); save(); }
}

function requestRooms() { send({ op: "rooms" }); }

// onEvent handles one event from the server.
function onEvent(e) {
  state.heard = Date.now();
  const req = e.id !== undefined ? state.reqs.get(e.id) : undefined;
  if (req) state.reqs.delete(e.id);
  const room = e.room !== undefined ? state.rooms.get(e.room) : undefined;
  switch (e.ev) {
    case "ping": // the server asks whether we are still here
      if (connected()) state.ws.send('{"op":"pong"}');
      return;
    case "hello":
      if (e.limits && e.limits.name) maxName = e.limits.name;
      send({ op: "hello", v: 1, name: state.name });
      return;
    case "welcome":
      state.name = e.name;
      state.retry = 0;
      setStatus("connected as " + state.name, "online");
      save();
      for (const r of state.rooms.values()) join(r.name, { rejoin: true });
      requestRooms();
      return;
    case "joined":
      if (!e.members) { // another member
        if (!room) return;
        if (!room.members.includes(e.name)) {
          room.members.push(e.name);
          note("event", e.name + " joined", room.log);
        }
        if (room.name === state.current) renderMembers();
        return;
      }
      return joined(e, req || {});
    case "left":
      if (!room) return;
      if (e.name === state.name) return dropRoom(room.name);
      room.members = room.members.filter((n) => n !== e.name);
      note("event", e.name + (e.reason === "part" ? " left" : e.reason === "quit" ? " quit" : " was disconnected") + (e.text ? ": " + e.text : ""), room.log);
      if (room.name === state.current) renderMembers();
      return;
    case "renamed":
      if (e.name === state.name) {
        state.name = e.to;
        setStatus("connected as " + state.name, "online");
        save();
      }
      if (!room) return;
      room.members = room.members.map((n) => (n === e.name ? e.to : n));
      note("event", e.name + " is now " + e.to, room.log);
      if (room.name === state.current) renderMembers();
      return;
    case "line":
      if (!room) return;
      if (addLine(room, e, false) && room.name !== state.current && e.from !== state.name) {
        room.unread++;
        renderRooms();
      }
      return;
    case "history":
      if (!room) return;
      return onHistory(room, e, req || {});
    case "members":
      if (!room) return;
      room.members = e.members || [];
      if (room.name === state.current) renderMembers();
      return;
    case "rooms":
      state.others = e.rooms || [];
      renderRooms();
      return;
    case "notice":
      note("notice", e.text);
      return;
    case "error":
      return failed(e, req || {});
  }
}

function joined(e, req) {
  let r = state.rooms.get(e.room);
  if (!r) {
    r = newRoom(e.room);
    state.rooms.set(e.room, r);
  }
  r.joined = true;
  r.members = e.members;
  if (r.last > 0) { // back after a reconnect: what was said meanwhile
    send({ op: "recover", room: r.name, offset: r.last, epoch: r.epoch });
  } else {
    if (e.epoch) r.epoch = e.epoch;
    send({ op: "history", room: r.name, limit: SCROLLBACK }, { scrollback: true });
  }
  if (req.show || !state.current || state.current === r.name) show(r.name);
  else { renderRooms(); save(); }
  requestRooms();
}

function onHistory(r, e, req) {
  const stick = nearBottom(r.log);
  renumber(r, e.epoch);
  const lines = e.lines || [];
  for (const l of lines) addLine(r, l, req.op === "history");
  if (e.recovered === false) {
    note("notice", "Some lines said while you were away are no longer kept: what is shown may miss some.", r.log);
  }
  r.first = e.first || 0;
  // A button for the lines before the oldest shown, if the server has them.
  const oldest = r.log.querySelector("li[data-offset]");
  const more = r.log.querySelector("li.more");
  if (more) more.remove();
  if (oldest && r.first && Number(oldest.dataset.offset) > r.first) {
    const b = el("button", { type: "button", text: "Earlier lines" });
    b.addEventListener("click", () => send({ op: "history", room: r.name, before: Number(r.log.querySelector("li[data-offset]").dataset.offset), limit: SCROLLBACK }));
    items(r.log).prepend(el("li", { class: "more" }, b));
  }
  if (req.scrollback || stick) r.log.scrollTop = r.log.scrollHeight;
}

function failed(e, req) {
  if (e.op === "hello") return refuseName(e.text);
  if (e.code === "no_history") return; // a server that keeps none: live lines only
  if (e.op === "join" && req.rejoin) {
    const tries = req.tries || 0;
    if (e.code === "nick_in_use" && tries < 10) {
      // Our old connection may not be gone yet (a network lost without a
      // goodbye): the server closes it within a minute. Try again.
      setTimeout(() => join(e.room, { rejoin: true, tries: tries + 1 }), Math.min(15, 2 ** tries) * 1000);
      return;
    }
    dropRoom(e.room);
    note("error", `Could not join ${e.room} again: ${e.text}`);
    return;
  }
  const r = e.room !== undefined ? state.rooms.get(e.room) : undefined;
  note("error", e.text, r ? r.log : currentLog());
}

// refuseName goes back to the login form with the server's reason; the
// page does not reconnect.
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

function connect() {
  if (state.refused) return;
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/chat";
  setStatus("connecting…", "connecting");
  const ws = new WebSocket(url);
  state.ws = ws;
  state.heard = Date.now();
  state.reqs.clear();
  for (const r of state.rooms.values()) r.joined = false;
  ws.onmessage = (m) => {
    let e;
    try { e = JSON.parse(m.data); } catch (_) { return; }
    if (state.ws === ws) onEvent(e);
  };
  ws.onclose = () => {
    if (state.ws !== ws || state.refused) return;
    state.ws = null;
    const wait = Math.min(30, 2 ** state.retry++);
    setStatus("disconnected: reconnecting in " + wait + "s", "offline");
    note("error", "Disconnected from the server. Reconnecting in " + wait + "s…");
    state.timer = setTimeout(connect, wait * 1000);
  };
}

// A connection that has heard nothing for longer than the server's
// pings allow is dead (a network lost without a word): close it, and
// reconnect.
setInterval(() => {
  if (connected() && Date.now() - state.heard > 75000) state.ws.close();
}, 5000);

// reconnectNow skips the wait when the browser is back online.
window.addEventListener("online", () => {
  if (state.ws === null && state.name && !state.refused) {
    clearTimeout(state.timer);
    connect();
  }
});

function start(name, rooms, current) {
  state.name = name;
  state.refused = false;
  $("login").hidden = true;
  $("chat").hidden = false;
  for (const n of rooms) if (!state.rooms.has(n)) state.rooms.set(n, newRoom(n));
  show(current && state.rooms.has(current) ? current : (rooms[0] || ""));
  connect();
  $("text").focus();
}

$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const name = $("name").value.trim();
  const problem = nameProblem(name);
  $("name-error").textContent = problem;
  if (problem) return;
  const kept = load();
  start(name, kept.name === name ? kept.rooms || [] : [], kept.current);
});

const help = "Commands: /me ACTION, /msg NAME TEXT (a whisper in this room), /join ROOM, /part, /nick NAME; start with // to say a line that begins with /.";

$("say").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("text");
  const text = input.value.replace(/[\r\n]+/g, " ").trim();
  if (!text) return;
  if (!connected()) { // keep what was typed: it is sent when the user sends again
    note("error", "Not sent: the page is not connected to the server. Your message stays in the box; send it again once reconnected.");
    return;
  }
  const room = state.current;
  const needRoom = () => { if (!room) note("error", "Join a room first: type its name under Rooms, or /join ROOM."); return !!room; };
  const m = /^\/(\S+)\s*([\s\S]*)$/.exec(text);
  if (m && !text.startsWith("//")) {
    const [, cmd, rest] = m;
    switch (cmd.toLowerCase()) {
      case "me":
        if (!rest || !needRoom()) return;
        send({ op: "say", room, kind: "action", text: rest });
        break;
      case "msg": case "w": case "whisper": {
        const w = /^(\S+)\s+([\s\S]+)$/.exec(rest);
        if (!w) return note("error", "Usage: /msg NAME TEXT");
        if (!needRoom()) return;
        send({ op: "whisper", room, to: w[1], text: w[2] });
        break;
      }
      case "join":
        if (!rest) return note("error", "Usage: /join ROOM");
        join(rest);
        break;
      case "part": case "leave":
        if (!(rest || room)) return needRoom();
        send({ op: "part", room: rest || room });
        break;
      case "nick":
        if (!rest) return note("error", "Usage: /nick NAME");
        send({ op: "nick", name: rest });
        break;
      case "help":
        note("notice", help);
        break;
      default:
        note("error", `Unknown command /${cmd}. ${help}`);
        return;
    }
  } else {
    if (!needRoom()) return;
    send({ op: "say", room, text: text.startsWith("//") ? text.slice(1) : text });
  }
  state.lastSent = input.value;
  input.value = "";
});

// Up in an empty box brings back the last line sent, to edit and send again.
$("text").addEventListener("keydown", (ev) => {
  if (ev.key === "ArrowUp" && !ev.target.value && state.lastSent) {
    ev.preventDefault();
    ev.target.value = state.lastSent;
  }
});

$("join").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const name = $("new-room").value.trim();
  if (!name) return;
  join(name);
  $("new-room").value = "";
});

$("leave").addEventListener("click", () => { if (state.current) send({ op: "part", room: state.current }); });
$("refresh").addEventListener("click", requestRooms);

$("logs").append(lobbyLog);
$("members-box").open = window.matchMedia("(min-width: 40rem)").matches;
{
  const kept = load();
  if (kept.name && !nameProblem(kept.name)) { // a reload: go on as before
    $("name").value = kept.name;
    start(kept.name, kept.rooms || [], kept.current);
  }
}
