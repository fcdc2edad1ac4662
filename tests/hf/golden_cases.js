#!/usr/bin/env node
// Generates the expected ids of tests/unit/tokenizer_test.cc and pair_truncation_test.cc
// with Hugging Face's fast tokenizer (the tokenizer.json of parity.js), as C++ initializers
// to paste into those files. Run once after changing a case:
//   node tests/hf/golden_cases.js [DATA_DIR] > /tmp/golden.inc
// DATA_DIR defaults to ../shared/data (for the bert-base-{uncased,cased} vocabularies).
'use strict';

const path = require('path');
const { loadBertTokenizer, SPECIAL_TOKENS } = require('./parity.js');

// A text made of `n` copies of `unit`, written in C++ as repeat(unit, n).
function R(unit, n) {
  return { text: unit.repeat(n), cpp: `repeat(${cppLiteral(unit)}, ${n})` };
}

// Texts encoded with the real vocabularies, uncased and cased.
const REAL_CASES = [
  // accents and combining marks
  'café', 'naïve', 'Ångström', 'CAFÉ Naïve ÅNGSTRÖM', 'e\u0301te\u0301', 'n\u0303o', 'a\u0308\u0323',
  'Straße ÄÖÜ äöü', 'İstanbul', '\u212b \u212a \u2126', 'façade résumé Zoë', 'x²', 'ﬁne',
  // CJK, Hangul, kana and other scripts
  '中文字符', '我爱北京天安门。', '日本語のテキスト', 'カタカナ ひらがな', '한국어 텍스트', '\uf900\u8c48',
  'Hello 世界!', 'Ελληνικά ΣΊΣΥΦΟΣ', 'Привет, МИР', 'مرحبا', 'שלום', 'ภาษาไทย', 'हिन्दी', 'ＡＢＣ１２３',
  // punctuation, ASCII and Unicode P*
  'Hello, world!', '«quoted» — dash… ¿qué? ¡sí!', 'a.b,c;d:e', '100% (x) [y] {z} <w>', "don't l'été",
  '$5.00 & #1 @home ~tilde ^caret `tick` _under_ |pipe| \\back/slash', '\u201csmart\u201d \u2018quotes\u2019',
  'a\u2014b\u2013c\u2010d', '\u3001\u3002\u300c\u300d', '\u00a7\u00b6\u00b7',
  // control and format characters
  'a\x01b', 'a\u200bb', '\ufeffstart', 'x\ufffdy', 'a\0b', 'a\x7fb', '\x1b[31mred', 'a\u0085b',
  'a\u200db\u200ec', 'a\u00adb', '\ue000private',
  // whitespace variants
  'tab\there', 'line\r\nbreak\nend\r', 'nbsp\u00a0here', 'ideographic\u3000space', 'a\u2028b\u2029c',
  'a\x0bb\x0cc', 'en\u2002em\u2003thin\u2009', '  leading and trailing  ', 'a\u1680b\u202fc\u205fd',
  // unknown characters and emoji
  '☃', 'a☃b', 'I ❤ NY 😀🎉', '👍🏽 ok', '\u{10ffff}', '\u{e0001}tag',
  // long words: 100 characters are still word-pieced, 101 are [UNK]
  R('x', 100), R('x', 101), R('é', 100), R('e\u0301', 50), R('e\u0301', 51),
  'unaffable tokenization antidisestablishmentarianism electroencephalographically',
  // literal special tokens
  '[SEP]', 'a[SEP]b', '[sep]', '[MASK]', '[mask]', '[CLS] hello [SEP] world [PAD][PAD]', '[[SEP]]',
  '[SEP', '[UNK]x', '[ SEP ]', '[S\u200bEP]', 'x[MASK]\u0301',
  // empty and nothing-but-dropped texts
  '', ' ', '\t\n', '\x01\x02\u200b', '3.14159 1,000,000',
];

// A small vocabulary, built in memory by the unit tests too: structural cases without data.
const SMALL_VOCAB = [
  ...SPECIAL_TOKENS, 'a', 'b', 'ab', '##a', '##b', '##ab', 'x', '##x', 'un', '##aff', '##able',
  '.', ',', '!', 'é', '##é', '\u1b44', '##\u1b44', '\u302e', '##\u302e', '\u0301', '##\u0301',
];
const SMALL_CASES = [
  'ab', 'aab', 'abab', 'unaffable', 'xyz', 'a.b,a!', 'ABA', 'é', 'ée', 'e\u0301',
  // canonical ordering of kept combining marks (ccc 224 and 9), and what blocks it:
  // U+034F is an Mn starter (dropped after NFD), U+200B a Cf dropped before NFD.
  'x\u302e\u1b44', 'x\u302e\u0301\u1b44', 'x\u302e\u034f\u1b44', 'x\u302e\u200b\u1b44',
  'x\u302e\u302e\u1b44\u1b44',
  R('a', 100), R('a', 101), '[SEP]ab[CLS]', '[MASK]',
];

// Pair truncation: [len_a, len_b (null: single sequence), max_len].
const TRUNCATION_CASES = [
  [10, 10, 18], [1, 20, 8], [20, 1, 8], [7, 7, 16], [7, 8, 16], [8, 7, 16], [3, 100, 13],
  [100, 3, 13], [100, 100, 13], [100, 100, 14], [5, 5, 13], [6, 5, 13], [0, 10, 8], [10, 0, 8],
  [4, 4, 3], [4, 4, 4], [1, 1, 4], [2, 30, 10], [30, 2, 10], [11, 12, 20], [12, 11, 20],
  [10, null, 7], [3, null, 7], [5, null, 7], [5, null, 2],
];

function cppLiteral(text) {
  let out = '"';
  let afterHex = false;
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    const printable = cp >= 0x20 && cp < 0x7f;
    if (afterHex && /[0-9a-fA-F]/.test(ch)) out += '" "';
    afterHex = false;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (printable) out += ch;
    else if (cp < 0x80) { out += '\\x' + cp.toString(16).padStart(2, '0'); afterHex = true; }
    else if (/[\p{L}\p{N}\p{P}\p{S}]/u.test(ch) && cp !== 0xfffd && ch.normalize('NFC') === ch) out += ch;
    else out += cp > 0xffff ? '\\U' + cp.toString(16).padStart(8, '0') : '\\u' + cp.toString(16).padStart(4, '0');
  }
  return out + '"';
}

// A C++ expression for a case's text (a literal that holds a NUL needs its length).
function cppText(entry) {
  if (typeof entry !== 'string') return entry.cpp;
  const lit = cppLiteral(entry);
  return entry.includes('\0') ? `std::string(${lit}, ${Buffer.byteLength(entry)})` : lit;
}

// Prints one initializer line, wrapped at 100 columns.
function printWrapped(line) {
  const indent = '    ';
  let current = indent;
  for (const word of line.split(/(?<=, )/)) {
    if (current.length + word.length > 100 && current.trim()) {
      console.log(current.trimEnd());
      current = indent + '    ';
    }
    current += word;
  }
  console.log(current.trimEnd());
}

async function printCases(cases, uncased, cased) {
  for (const entry of cases) {
    const text = typeof entry === 'string' ? entry : entry.text;
    printWrapped(`{${cppText(entry)}, {${(await ids(uncased, text)).join(', ')}}, {${(await ids(cased, text)).join(', ')}}},`);
  }
}

async function ids(tokenizer, text) {
  return (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds();
}

async function main() {
  const dataDir = process.argv[2] || path.join(__dirname, '..', '..', '..', 'shared', 'data');
  const uncased = loadBertTokenizer(path.join(dataDir, 'vocab', 'bert-base-uncased-vocab.txt'), { lowercase: true, maxLen: 0 });
  const cased = loadBertTokenizer(path.join(dataDir, 'vocab', 'bert-base-cased-vocab.txt'), { lowercase: false, maxLen: 0 });
  console.log('// kRealCases: {text, uncased ids, cased ids}');
  await printCases(REAL_CASES, uncased, cased);

  console.log('\n// kSmallVocab');
  printWrapped(`${SMALL_VOCAB.map(cppLiteral).join(', ')},`);
  const smallUncased = loadBertTokenizer(SMALL_VOCAB, { lowercase: true, maxLen: 0 });
  const smallCased = loadBertTokenizer(SMALL_VOCAB, { lowercase: false, maxLen: 0 });
  console.log('// kSmallCases: {text, uncased ids, cased ids}');
  await printCases(SMALL_CASES, smallUncased, smallCased);

  console.log('\n// kTruncationCases: {len_a, len_b (-1: single), max_len, kept_a, kept_b}');
  for (const [la, lb, maxLen] of TRUNCATION_CASES) {
    const tok = loadBertTokenizer(SMALL_VOCAB, { lowercase: true, maxLen });
    const a = 'a '.repeat(la);
    const enc = lb === null ? await tok.encode(a) : await tok.encode(a, 'b '.repeat(lb));
    const types = enc.getTypeIds();
    const keptA = types.filter((t) => t === 0).length - 2;
    const keptB = lb === null ? 0 : types.filter((t) => t === 1).length - 1;
    console.log(`    {${la}, ${lb === null ? -1 : lb}, ${maxLen}, ${keptA}, ${keptB}},`);
  }
}

main().catch((err) => { console.error(err.stack || err); process.exitCode = 1; });
