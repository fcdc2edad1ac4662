#!/usr/bin/env node
// Single-core throughput of Hugging Face's fast BertTokenizer (Rust core, node binding) on
// a pairs file, measured like bench/tokenizer_bench.cc: every row encoded as
// [CLS] A [SEP] (B [SEP]) with truncation to --max-len, tokens = ids of those inputs,
// best of --repeats rounds, one JSON line. scripts/bench-preprocess.sh runs it pinned to
// one CPU (taskset) with RAYON_NUM_THREADS=1.
// Modes (this binding's encodeBatch takes single sequences only, not [a, b] pairs):
//   batch  (default, the faster on one core): encodeBatch of all A texts and of all B
//          texts without special tokens, then postProcess(a, b) per row, which adds
//          [CLS]/[SEP] and truncates exactly as encode(a, b) does (the Rust encode is
//          these two steps).
//   single: await encode(a, b) row after row.
// Usage: node tests/hf/bench_hf.js PAIRS VOCAB [--cased] [--max-len 512] [--repeats 5] [--mode batch|single]
'use strict';

const { loadBertTokenizer, readPairsFile } = require('./parity.js');

function parseArgs(argv) {
  const args = { positional: [], cased: false, maxLen: 512, repeats: 5, mode: 'batch' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--cased') args.cased = true;
    else if (argv[i] === '--uncased') args.cased = false;
    else if (argv[i] === '--max-len') args.maxLen = Number(argv[++i]);
    else if (argv[i] === '--repeats') args.repeats = Number(argv[++i]);
    else if (argv[i] === '--mode') args.mode = argv[++i];
    else args.positional.push(argv[i]);
  }
  if (args.positional.length !== 2 || !['batch', 'single'].includes(args.mode)) {
    throw new Error('usage: bench_hf.js PAIRS VOCAB [--cased] [--max-len N] [--repeats N] [--mode batch|single]');
  }
  return args;
}

async function roundBatch(tokenizer, rows) {
  const noSpecials = { addSpecialTokens: false };
  const as = await tokenizer.encodeBatch(rows.map((r) => r.a), noSpecials);
  const pairRows = [];
  rows.forEach((r, i) => { if (r.b !== undefined) pairRows.push(i); });
  const bs = await tokenizer.encodeBatch(pairRows.map((i) => rows[i].b), noSpecials);
  const bOf = new Map(pairRows.map((row, k) => [row, bs[k]]));
  let tokens = 0;
  for (let i = 0; i < rows.length; i++) {
    tokens += tokenizer.postProcess(as[i], bOf.get(i) || null, true).getLength();
  }
  return tokens;
}

async function roundSingle(tokenizer, rows) {
  let tokens = 0;
  for (const r of rows) {
    const enc = r.b === undefined ? await tokenizer.encode(r.a) : await tokenizer.encode(r.a, r.b);
    tokens += enc.getLength();
  }
  return tokens;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const rows = readPairsFile(args.positional[0]);
  const tokenizer = loadBertTokenizer(args.positional[1], { lowercase: !args.cased, maxLen: args.maxLen });
  let best = Infinity;
  let bestCpu = 0;
  let tokens = 0;
  for (let round = 0; round < args.repeats; round++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    tokens = args.mode === 'batch' ? await roundBatch(tokenizer, rows) : await roundSingle(tokenizer, rows);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    if (seconds < best) {
      best = seconds;
      bestCpu = (cpu.user + cpu.system) / 1e6;
    }
  }
  console.log(JSON.stringify({
    impl: 'hf-tokenizers-0.23.2', mode: args.mode, vocab: args.cased ? 'cased' : 'uncased',
    rayon_threads: process.env.RAYON_NUM_THREADS || 'default', rows: rows.length, tokens,
    repeats: args.repeats, seconds: Number(best.toFixed(4)), cpu_seconds: Number(bestCpu.toFixed(4)),
    tokens_per_s: Math.round(tokens / best),
  }));
}

main().catch((err) => { console.error(`bench_hf.js: ${err.stack || err}`); process.exitCode = 1; });
