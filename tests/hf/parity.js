#!/usr/bin/env node
// Parity of mtdnn's WordPiece tokenizer with Hugging Face's fast BertTokenizer (the Rust
// `tokenizers` core through its node binding), run by ctest (tests/scripts.cmake).
//   GLUE mode: every text column of every row of every GLUE file under the data folder
//     goes through mtdnn-bench-tokenizer --ids (C++) and through a Hugging Face tokenizer
//     built exactly as BertTokenizerFast builds it; ids and type ids must agree row by row.
//   --sweep: every Unicode code point c, as "x" c "x", against a synthetic vocabulary
//     holding every code point (as a word start and as a ## continuation), so the ids
//     spell out the normalized text; only the code points listed in
//     KNOWN_UNICODE_DIVERGENCES may differ.
//   --extract OUT: writes the GLUE pairs file only (used by scripts/bench-preprocess.sh).
// Other scripts require() this file for the tokenizer builder and the GLUE extraction.
//
// Usage:
//   node tests/hf/parity.js --tool BUILD/bin/mtdnn-bench-tokenizer [--data-dir DIR]
//        [--vocab uncased,cased] [--max-len 512,128]
//   node tests/hf/parity.js --sweep --tool BUILD/bin/mtdnn-bench-tokenizer
//   node tests/hf/parity.js --extract OUT.tsv [--splits train,dev] [--data-dir DIR]
// $MTDNN_DATA_DIR, when set, overrides --data-dir. Exit status: 0 parity, 1 mismatch or
// error, 77 skipped (no GLUE data).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { Tokenizer } = require('tokenizers');

const SKIP = 77;
const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

// ---------------------------------------------------------------------------------------
// The reference tokenizer: the tokenizer.json that transformers' BertConverter writes for
// BertTokenizerFast (bert-base-uncased ships the same), with truncation at maxLen.

function readVocab(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function bertTokenizerJson(tokens, { lowercase, maxLen }) {
  const vocab = {};
  tokens.forEach((t, i) => { vocab[t] = i; });
  const special = (name) => ({ id: name, ids: [vocab[name]], tokens: [name] });
  return JSON.stringify({
    version: '1.0',
    truncation: maxLen ? { direction: 'Right', max_length: maxLen, strategy: 'LongestFirst', stride: 0 } : null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.filter((t) => t in vocab).map((t) => ({
      id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false,
      normalized: false, special: true,
    })),
    // strip_accents null: follows lowercase, as BertTokenizerFast leaves it.
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##',
      max_input_chars_per_word: 100, vocab,
    },
  });
}

// A Hugging Face tokenizer equal to BertTokenizerFast(vocab, do_lower_case=lowercase)
// called with truncation=True, max_length=maxLen (no truncation when maxLen is 0).
function loadBertTokenizer(vocabFileOrTokens, { lowercase, maxLen = 512 }) {
  const tokens = Array.isArray(vocabFileOrTokens) ? vocabFileOrTokens : readVocab(vocabFileOrTokens);
  return Tokenizer.fromString(bertTokenizerJson(tokens, { lowercase, maxLen }));
}

// ---------------------------------------------------------------------------------------
// GLUE text columns. Quirks (../shared/data/PROVENANCE.md, "Format notes"): MRPC train/dev
// start with a UTF-8 BOM; CoLA train/dev have no header (sentence in column 3); test files
// have their own headers; fields are plain TAB-separated text ('"' is not a quote).

const GLUE_TASKS = ['CoLA', 'SST-2', 'MRPC', 'STS-B', 'RTE', 'WNLI', 'QNLI'];
// Header names of the text columns: a pair, or a single sentence.
const TEXT_COLUMNS = [['#1 String', '#2 String'], ['sentence1', 'sentence2'], ['question', 'sentence'], ['sentence']];

function splitLines(content) {
  const lines = content.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();  // final newline (CoLA dev has none)
  return lines;
}

// Rows {file, line, a, b} of one GLUE file; b is undefined for single-sentence tasks.
function extractGlueFile(file, task, split) {
  let content = fs.readFileSync(file, 'utf8');
  if (content.charCodeAt(0) === 0xfeff) content = content.slice(1);
  const lines = splitLines(content);
  let columns;
  let first = 0;
  if (task === 'CoLA' && split !== 'test') {
    columns = [3];
  } else {
    const header = lines[0].split('\t');
    const names = TEXT_COLUMNS.find((names) => names.every((n) => header.includes(n)));
    if (!names) throw new Error(`${file}: no known text columns in header ${JSON.stringify(header)}`);
    columns = names.map((n) => header.indexOf(n));
    first = 1;
  }
  const rows = [];
  for (let i = first; i < lines.length; i++) {
    const fields = lines[i].split('\t');
    if (fields.length <= Math.max(...columns)) {
      throw new Error(`${file}:${i + 1}: ${fields.length} fields, text column ${Math.max(...columns)} missing`);
    }
    rows.push({ file, line: i + 1, a: fields[columns[0]], b: columns.length > 1 ? fields[columns[1]] : undefined });
  }
  return rows;
}

// Every row of every GLUE file present under dataDir/glue (splits: train, dev, test).
function extractGluePairs(dataDir, splits = ['train', 'dev', 'test']) {
  const rows = [];
  const files = [];
  for (const task of GLUE_TASKS) {
    for (const split of splits) {
      const file = path.join(dataDir, 'glue', task, `${split}.tsv`);
      if (!fs.existsSync(file)) continue;
      const part = extractGlueFile(file, task, split);
      files.push({ file: path.join(task, `${split}.tsv`), rows: part.length });
      rows.push(...part);
    }
  }
  return { rows, files };
}

function writePairsFile(rows, file) {
  const text = rows.map((r) => (r.b === undefined ? r.a : `${r.a}\t${r.b}`)).join('\n');
  fs.writeFileSync(file, rows.length ? text + '\n' : '');
}

function readPairsFile(file) {
  return splitLines(fs.readFileSync(file, 'utf8')).map((line) => {
    const tab = line.indexOf('\t');
    return tab < 0 ? { a: line } : { a: line.slice(0, tab), b: line.slice(tab + 1) };
  });
}

function dataDirFrom(args) {
  return process.env.MTDNN_DATA_DIR || args['data-dir'] || path.join(__dirname, '..', '..', '..', 'shared', 'data');
}

// ---------------------------------------------------------------------------------------
// Comparison.

// Runs the C++ tool on a pairs file; returns its output lines "ids\ttype_ids".
function runTool(tool, pairsFile, vocabFile, lowercase, maxLen, scratch) {
  const outFile = path.join(scratch, 'mtdnn.out');
  const fd = fs.openSync(outFile, 'w');
  const res = spawnSync(tool, [pairsFile, vocabFile, ...(lowercase ? [] : ['--cased']), '--max-len', String(maxLen), '--ids'],
    { stdio: ['ignore', fd, 'inherit'] });
  fs.closeSync(fd);
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`${tool} exited with status ${res.status}`);
  return splitLines(fs.readFileSync(outFile, 'utf8'));
}

async function encodeAll(tokenizer, rows) {
  // encodeBatch of this binding takes single sequences only (a [a, b] element fails to
  // convert), so pairs go through encode(a, b), a chunk of promises at a time.
  const out = [];
  for (let i = 0; i < rows.length; i += 1024) {
    const chunk = rows.slice(i, i + 1024);
    if (chunk.every((r) => r.b === undefined)) {
      out.push(...(await tokenizer.encodeBatch(chunk.map((r) => r.a))));
    } else {
      out.push(...(await Promise.all(chunk.map((r) => (r.b === undefined ? tokenizer.encode(r.a) : tokenizer.encode(r.a, r.b))))));
    }
  }
  return out;
}

// Compares one configuration; returns the list of mismatching rows.
async function compare(label, rows, tool, pairsFile, vocabFile, lowercase, maxLen, scratch) {
  const t0 = Date.now();
  const ours = runTool(tool, pairsFile, vocabFile, lowercase, maxLen, scratch);
  const tokenizer = loadBertTokenizer(vocabFile, { lowercase, maxLen });
  const theirs = await encodeAll(tokenizer, rows);
  if (ours.length !== rows.length) {
    throw new Error(`${label}: the tool wrote ${ours.length} lines for ${rows.length} rows`);
  }
  const mismatches = [];
  let truncated = 0;
  for (let i = 0; i < rows.length; i++) {
    const ids = theirs[i].getIds();
    const expected = `${ids.join(' ')}\t${theirs[i].getTypeIds().join(' ')}`;
    if (ids.length === maxLen) truncated++;
    if (ours[i] !== expected) mismatches.push({ row: rows[i], ours: ours[i], expected, tokenizer });
  }
  console.log(`${label}: ${rows.length} rows compared, ${rows.length - mismatches.length} equal, ` +
    `${mismatches.length} different (${truncated} rows at the length limit; ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return mismatches;
}

function showMismatches(mismatches, limit = 5) {
  for (const m of mismatches.slice(0, limit)) {
    const where = m.row.file ? `${m.row.file}:${m.row.line}` : 'row';
    const tokens = (line) => line.split('\t')[0].split(' ').map((id) => m.tokenizer.idToToken(Number(id))).join(' ');
    console.log(`  ${where}\n    text_a: ${JSON.stringify(m.row.a)}` +
      (m.row.b === undefined ? '' : `\n    text_b: ${JSON.stringify(m.row.b)}`) +
      `\n    hf:     ${tokens(m.expected)}\n    mtdnn:  ${tokens(m.ours)}`);
  }
}

async function glueParity(args) {
  const dataDir = dataDirFrom(args);
  if (!fs.existsSync(path.join(dataDir, 'glue'))) {
    console.log(`SKIP: no GLUE data under ${dataDir} (set MTDNN_DATA_DIR)`);
    return SKIP;
  }
  const vocabs = (args.vocab || 'uncased,cased').split(',');
  const maxLens = (args['max-len'] || '512,128').split(',').map(Number);
  const { rows, files } = extractGluePairs(dataDir);
  console.log(`GLUE rows from ${dataDir}: ${rows.length} (${files.map((f) => `${f.file} ${f.rows}`).join(', ')})`);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mtdnn-parity-'));
  try {
    const pairsFile = path.join(scratch, 'pairs.tsv');
    writePairsFile(rows, pairsFile);
    let failed = 0;
    let compared = 0;
    for (const casing of vocabs) {
      const vocabFile = path.join(dataDir, 'vocab', `bert-base-${casing}-vocab.txt`);
      if (!fs.existsSync(vocabFile)) {
        console.log(`SKIP: ${vocabFile} not found`);
        return SKIP;
      }
      for (const maxLen of maxLens) {
        const mismatches = await compare(`${casing} max_len=${maxLen}`, rows, args.tool, pairsFile, vocabFile,
          casing === 'uncased', maxLen, scratch);
        compared += rows.length;
        failed += mismatches.length;
        showMismatches(mismatches);
      }
    }
    console.log(failed ? `FAIL: ${failed} of ${compared} row encodings differ` : `OK: ${compared} row encodings identical`);
    return failed ? 1 : 0;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// Unicode sweep.

// Code points where utf8proc (Unicode 15, mtdnn) and Hugging Face disagree, as ranges.
// Hugging Face takes categories from the unicode_categories crate (0.1.1, Unicode 8 tables)
// and lower-cases with Rust's std (Unicode 16), so these are characters added or
// re-categorised after Unicode 8 (Mn marks HF keeps, Po/Ps/Pe/Pd it does not split, Cf
// it keeps; U+1734 and U+11938 were Mn and are Mc now, U+166D was Po and is So now) and
// the capitals of Unicode 16 that utf8proc does not lower-case yet. Regenerate with
// --sweep --print-divergences.
const KNOWN_UNICODE_DIVERGENCES = `
61D 7FD 890-891 898-89F 8CA-8E2 9FD-9FE A76 AFA-AFF B55 C04 C3C C77 C84 D00 D3B-D3C D81 EBA
ECE 166D 1734 180F 1885-1886 1ABF-1ACE 1B7D-1B7E 1C89 1DF6-1DFB 2E43-2E4F 2E52-2E5D A7CB-A7CC
A7CE A7D2 A7D4 A7DA A7DC A82C A8C5 A8FF A9BD 10D24-10D27 10D50-10D65 10EAB-10EAD 10EFD-10EFF
10F46-10F50 10F55-10F59 10F82-10F89 11070 11073-11074 110C2 110CD 111C9 111CF 1123E 11241
1133B 11438-1143F 11442-11444 11446 1144B-1144F 1145A-1145B 1145D-1145E 11660-1166C 116B9
1182F-11837 11839-1183B 11938 1193B-1193C 1193E 11943-11946 119D4-119D7 119DA-119DB 119E0
119E2 11A01-11A0A 11A33-11A38 11A3B-11A47 11A51-11A56 11A59-11A5B 11A8A-11A96 11A98-11A9C
11A9E-11AA2 11B00-11B09 11C30-11C36 11C38-11C3D 11C3F 11C41-11C45 11C70-11C71 11C92-11CA7
11CAA-11CB0 11CB2-11CB3 11CB5-11CB6 11D31-11D36 11D3A 11D3C-11D3D 11D3F-11D45 11D47
11D90-11D91 11D95 11D97 11EF3-11EF4 11EF7-11EF8 11F00-11F01 11F36-11F3A 11F40 11F42-11F4F
11FFF 12FF1-12FF2 13430-13440 13447-13455 16E97-16E9A 16EA0-16EB8 16F4F 16FE2 16FE4
1CF00-1CF2D 1CF30-1CF46 1E000-1E006 1E008-1E018 1E01B-1E021 1E023-1E024 1E026-1E02A 1E08F
1E130-1E136 1E2AE 1E2EC-1E2EF 1E4EC-1E4EF 1E944-1E94A 1E95E-1E95F`;

function parseRanges(text) {
  const set = new Set();
  for (const r of text.trim().split(/\s+/)) {
    const [lo, hi] = r.split('-').map((h) => parseInt(h, 16));
    for (let c = lo; c <= (hi === undefined ? lo : hi); c++) set.add(c);
  }
  return set;
}

function formatRanges(codePoints) {
  const ranges = [];
  for (const c of codePoints) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === c - 1) last[1] = c; else ranges.push([c, c]);
  }
  return ranges.map(([lo, hi]) => (lo === hi ? lo.toString(16) : `${lo.toString(16)}-${hi.toString(16)}`).toUpperCase()).join(' ');
}

async function unicodeSweep(args) {
  // Tab, LF and CR would break the line formats; the unit tests cover them.
  const isLineBreaking = (c) => c === 0x09 || c === 0x0a || c === 0x0d;
  const codePoints = [];
  for (let c = 0; c <= 0x10ffff; c++) {
    if ((c < 0xd800 || c > 0xdfff) && !isLineBreaking(c)) codePoints.push(c);
  }
  const chars = codePoints.map((c) => String.fromCodePoint(c));
  const tokens = [...SPECIAL_TOKENS, ...chars, ...chars.map((ch) => `##${ch}`)];
  const rows = chars.map((ch) => ({ a: `x${ch}x` }));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mtdnn-sweep-'));
  try {
    const vocabFile = path.join(scratch, 'vocab.txt');
    fs.writeFileSync(vocabFile, tokens.join('\n') + '\n');
    const pairsFile = path.join(scratch, 'pairs.tsv');
    writePairsFile(rows, pairsFile);
    const known = parseRanges(KNOWN_UNICODE_DIVERGENCES);
    const differing = new Set();
    let failed = 0;
    for (const lowercase of [true, false]) {
      const label = `sweep ${lowercase ? 'uncased' : 'cased'}`;
      const mismatches = await compare(label, rows, args.tool, pairsFile, vocabFile, lowercase, 512, scratch);
      const unexpected = mismatches.filter((m) => !known.has(m.row.a.codePointAt(1)));
      mismatches.forEach((m) => differing.add(m.row.a.codePointAt(1)));
      unexpected.forEach((m) => { m.row.file = `U+${m.row.a.codePointAt(1).toString(16).toUpperCase()}`; });
      console.log(`${label}: ${mismatches.length - unexpected.length} known divergences, ${unexpected.length} unexpected`);
      showMismatches(unexpected, 10);
      failed += unexpected.length;
    }
    const agreeing = [...known].filter((c) => !differing.has(c));
    if (agreeing.length) console.log(`note: ${agreeing.length} listed code points now agree: ${formatRanges(agreeing)}`);
    if (args['print-divergences']) console.log(formatRanges([...differing].sort((x, y) => x - y)));
    console.log(failed ? `FAIL: ${failed} unexpected differences` : `OK: ${codePoints.length} code points, no unexpected differences`);
    return failed ? 1 : 0;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument ${argv[i]}`);
    const key = argv[i].slice(2);
    const flag = ['sweep', 'print-divergences'].includes(key);
    args[key] = flag ? true : argv[++i];
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.extract) {
    const dataDir = dataDirFrom(args);
    if (!fs.existsSync(path.join(dataDir, 'glue'))) {
      console.error(`no GLUE data under ${dataDir} (set MTDNN_DATA_DIR)`);
      return SKIP;
    }
    const { rows, files } = extractGluePairs(dataDir, (args.splits || 'train,dev,test').split(','));
    writePairsFile(rows, args.extract);
    console.error(`${args.extract}: ${rows.length} rows from ${files.length} files`);
    return 0;
  }
  if (!args.tool) throw new Error('--tool PATH (the mtdnn-bench-tokenizer executable) is required');
  return args.sweep ? unicodeSweep(args) : glueParity(args);
}

module.exports = { loadBertTokenizer, readVocab, extractGluePairs, writePairsFile, readPairsFile, SPECIAL_TOKENS };

if (require.main === module) {
  main().then((code) => { process.exitCode = code; }, (err) => { console.error(`error: ${err.stack || err}`); process.exitCode = 1; });
}
