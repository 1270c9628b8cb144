'use strict';
// PouchDB phones for bench/sync/peer.py: `devices` phones in one Node process, each with a local PouchDB (memory
// adapter). In a closed loop each phone creates one dossier of 20 fields and replicates it to the server at
// once with db.replicate.to(remote): the requests PouchDB's replicator makes (checkpoints, _revs_diff,
// _bulk_docs). Waits for "go" on stdin (the caller samples the server's CPU and resets the byte counters first),
// then prints one JSON line with the figures.
//
//     node clients.js '{"url": "http://127.0.0.1:PORT/dossiers", "devices": 200, "seconds": 20,
//                      "template": {...fields, "{n}" in string values is replaced by the phone's count}}'
const crypto = require('node:crypto');
const readline = require('node:readline');
const PouchDB = require('pouchdb').plugin(require('pouchdb-adapter-memory'));

function fill(value, n) {
  if (typeof value === 'string') return value.replaceAll('{n}', String(n));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, n)]));
  }
  return value;
}

function percentile(values, share) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.round(share * (sorted.length - 1)))];
}

async function main() {
  const config = JSON.parse(process.argv[2]);
  const run = crypto.randomUUID().slice(0, 8);
  const phones = [];
  for (let i = 0; i < config.devices; i++) {
    phones.push({local: new PouchDB(`phone-${run}-${i}`, {adapter: 'memory'}), remote: new PouchDB(config.url),
                 made: 0});
  }
  process.stdout.write('ready\n');
  const input = readline.createInterface({input: process.stdin});
  for await (const line of input) {
    if (line.trim() === 'go') break;
  }
  input.close();

  const latencies = [];
  let docs = 0, failures = 0, errors = 0;
  const started = performance.now();
  const stopAt = started + config.seconds * 1000;

  async function loop(phone) {
    while (performance.now() < stopAt) {
      phone.made += 1;
      const t0 = performance.now();
      await phone.local.put({_id: crypto.randomUUID(), ...fill(config.template, phone.made)});
      try {
        const result = await phone.local.replicate.to(phone.remote);
        docs += result.docs_written;
        failures += result.doc_write_failures;
      } catch (error) {
        errors += 1;
        if (errors <= 3) process.stderr.write(`replication failed: ${error && (error.stack || error.message)}\n`);
      }
      latencies.push(performance.now() - t0);
    }
  }

  await Promise.all(phones.map(loop));
  const elapsed = (performance.now() - started) / 1000;
  process.stdout.write(JSON.stringify({
    devices: config.devices, docs, rounds: latencies.length, doc_write_failures: failures, errors,
    seconds: Math.round(elapsed * 100) / 100, docs_per_s: Math.round(docs / elapsed * 10) / 10,
    p50_ms: Math.round(percentile(latencies, 0.5) * 10) / 10,
    p99_ms: Math.round(percentile(latencies, 0.99) * 10) / 10,
  }) + '\n');
  await Promise.all(phones.map((phone) => phone.local.destroy()));
}

main().then(() => process.exit(0), (error) => {
  process.stderr.write(`${error && (error.stack || error.message)}\n`);
  process.exit(1);
});
