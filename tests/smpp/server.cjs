// A real SMPP 3.4 server (node `smpp`) on loopback, standing in for the operator's SMS gateway in the tests
// (tests/smpp_gateway.py starts it). It checks the bind credentials, accepts submit_sm, records every accepted part,
// and answers delivery receipts (deliver_sm, esm_class 0x04) when registered_delivery asks for one. Like an SMSC, it
// keeps a receipt whose connection is gone and sends it on a bound one (now, or at the next bind).
//
// Its tiny HTTP control port (HTTP_PORT) lets the test read and steer it:
//   GET  /messages            → {messages: [...], binds: n, refused_binds: n, submits: n}
//   POST /mode?throttle=N     → answer the next N submit_sm with ESME_RTHROTTLED
//   POST /mode?drop=N         → close the connection on the next N submit_sm without answering or keeping them
//   POST /mode?receipt_delay=MS&undeliverable=84…,84…   → delay receipts; UNDELIV for these numbers
//   POST /mode?refuse=N       → answer the next N submit_sm with ESME_RINVDSTADR (a permanent refusal)
//   POST /mode?throttle_every=N&drop_every=M&receipt_delay_max=MS → for benchmarks: throttle every Nth submit_sm,
//                               drop the connection at every Mth, delay each receipt by up to MS (random)
//   POST /reset               → forget messages and modes
// Environment: SMPP_PORT, HTTP_PORT, SYSTEM_ID, PASSWORD.
'use strict'; // CommonJS (.cjs): the repository's package.json makes .js files ES modules

const http = require('http');
const smpp = require('smpp');

const SYSTEM_ID = process.env.SYSTEM_ID || 'motcua';
const PASSWORD = process.env.PASSWORD || 'secret';

let state;
const bound = new Set(); // sessions bound as transceivers, open
let waiting = []; // receipts due while no session was bound
function sendReceipt(session, receipt) {
	const target = bound.has(session) ? session : bound.values().next().value;
	if (!target) { waiting.push(receipt); return; }
	state.receipts += 1;
	target.deliver_sm(receipt);
}
function reset() {
	waiting = [];
	state = { messages: [], binds: 0, refused_binds: 0, submits: 0, throttle: 0, drop: 0, refuse: 0,
		receipt_delay: 0, undeliverable: new Set(), next_id: 1, throttle_every: 0, drop_every: 0, receipt_delay_max: 0,
		throttled: 0, dropped: 0, receipts: 0 };
}
reset();

function text(pdu) {
	const message = pdu.short_message;
	if (message && typeof message === 'object' && 'message' in message) {
		return { text: String(message.message), udh: message.udh ? Buffer.concat(message.udh.map((u) => Buffer.from(u))).toString('hex') : '' };
	}
	return { text: Buffer.isBuffer(message) ? message.toString('latin1') : String(message || ''), udh: '' };
}

function pad(n) { return String(n).padStart(2, '0'); }
function stamp(d) {
	return `${pad(d.getFullYear() % 100)}${pad(d.getMonth() + 1)}${pad(d.getDate())}${pad(d.getHours())}${pad(d.getMinutes())}`;
}

const server = smpp.createServer({ debug: false }, (session) => {
	session.on('error', () => {});
	session.on('close', () => bound.delete(session));
	for (const command of ['bind_transceiver', 'bind_transmitter', 'bind_receiver']) {
		session.on(command, (pdu) => {
			if (command !== 'bind_transceiver' || pdu.system_id !== SYSTEM_ID || pdu.password !== PASSWORD) {
				state.refused_binds += 1;
				session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
				session.close();
				return;
			}
			state.binds += 1;
			bound.add(session);
			session.send(pdu.response({ system_id: 'TESTSMSC' }));
			const due = waiting;
			waiting = [];
			for (const receipt of due) sendReceipt(session, receipt);
		});
	}
	session.on('enquire_link', (pdu) => session.send(pdu.response()));
	session.on('unbind', (pdu) => { bound.delete(session); session.send(pdu.response()); session.close(); });
	session.on('submit_sm', (pdu) => {
		state.submits += 1;
		if (!bound.has(session)) {
			session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
			return;
		}
		if (state.drop > 0 || (state.drop_every && state.submits % state.drop_every === 0)) {
			if (state.drop > 0) state.drop -= 1;
			state.dropped += 1;
			bound.delete(session);
			session.close();
			return;
		}
		if (state.throttle > 0 || (state.throttle_every && state.submits % state.throttle_every === 0)) {
			if (state.throttle > 0) state.throttle -= 1;
			state.throttled += 1;
			session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
			return;
		}
		if (state.refuse > 0) {
			state.refuse -= 1;
			session.send(pdu.response({ command_status: smpp.ESME_RINVDSTADR }));
			return;
		}
		const id = `M${state.next_id++}`;
		const { text: body, udh } = text(pdu);
		const message = { message_id: id, source_addr: pdu.source_addr, source_addr_ton: pdu.source_addr_ton,
			destination_addr: pdu.destination_addr, dest_addr_ton: pdu.dest_addr_ton, data_coding: pdu.data_coding,
			esm_class: pdu.esm_class, registered_delivery: pdu.registered_delivery, text: body, udh, at: Date.now() / 1000 };
		state.messages.push(message);
		session.send(pdu.response({ message_id: id }));
		if (pdu.registered_delivery & 0x01) {
			const stat = state.undeliverable.has(pdu.destination_addr) ? 'UNDELIV' : 'DELIVRD';
			const now = new Date();
			const delay = state.receipt_delay + Math.floor(Math.random() * state.receipt_delay_max);
			setTimeout(() => sendReceipt(session, {
				source_addr: pdu.destination_addr, destination_addr: pdu.source_addr, esm_class: 0x04,
				short_message: `id:${id} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:${stamp(now)} done date:${stamp(new Date())} stat:${stat} err:000 text:`,
				receipted_message_id: id, message_state: stat === 'DELIVRD' ? 2 : 5,
			}), delay);
		}
	});
});

server.listen(Number(process.env.SMPP_PORT), '127.0.0.1');

http.createServer((request, response) => {
	const url = new URL(request.url, 'http://127.0.0.1');
	const answer = (body) => {
		response.writeHead(200, { 'content-type': 'application/json' });
		response.end(JSON.stringify(body));
	};
	if (url.pathname === '/messages') {
		const { messages, binds, refused_binds, submits, throttled, dropped, receipts } = state;
		return answer({ messages, binds, refused_binds, submits, throttled, dropped, receipts });
	}
	if (url.pathname === '/reset') {
		reset();
		return answer({ ok: true });
	}
	if (url.pathname === '/mode') {
		for (const name of ['throttle', 'drop', 'refuse', 'receipt_delay', 'throttle_every', 'drop_every', 'receipt_delay_max']) {
			if (url.searchParams.has(name)) state[name] = Number(url.searchParams.get(name));
		}
		if (url.searchParams.has('undeliverable')) {
			state.undeliverable = new Set(url.searchParams.get('undeliverable').split(',').filter(Boolean));
		}
		return answer({ ok: true });
	}
	response.writeHead(404);
	response.end();
}).listen(Number(process.env.HTTP_PORT), '127.0.0.1', () => console.log('ready'));
