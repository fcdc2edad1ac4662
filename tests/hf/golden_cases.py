#!/usr/bin/env python3
"""Generates the expected ids of tests/preprocess/tokenizer_test.cc and
pair_truncation_test.cc with Hugging Face's fast tokenizer (the reference tokenizer of
parity.py), as C++ initializers to paste into those files: the goldens come from an
independent implementation, not from the code under test. Run once after changing a case:
  PYTHON tests/hf/golden_cases.py [DATA_DIR] > golden.inc
(PYTHON: a Python with the `tokenizers` package, e.g. scripts/venv-python). DATA_DIR
defaults to ../shared/data (for the bert-base-{uncased,cased} vocabularies).
Standard library and the `tokenizers` package only.
"""
import re
import string
import sys
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parity import DEFAULT_DATA_DIR, SPECIAL_TOKENS, load_bert_tokenizer  # noqa: E402


def cpp_literal(text):
    """A C++ string literal of text (UTF-8 source): printable ASCII as is; other ASCII as
    \\xNN, closing the literal ("..." "...") when a hex digit follows, since \\x would
    swallow it; letters, numbers, punctuation and symbols that are already NFC as
    themselves (readable); everything else (marks, spaces, controls, format characters,
    U+FFFD, non-NFC code points) as \\uNNNN or \\UNNNNNNNN, so the bytes are unambiguous."""
    out = '"'
    after_hex = False
    for ch in text:
        cp = ord(ch)
        if after_hex and ch in string.hexdigits:
            out += '" "'
        after_hex = False
        if ch in '"\\':
            out += "\\" + ch
        elif 0x20 <= cp < 0x7F:
            out += ch
        elif cp < 0x80:
            out += f"\\x{cp:02x}"
            after_hex = True
        elif unicodedata.category(ch)[0] in "LNPS" and cp != 0xFFFD and unicodedata.normalize("NFC", ch) == ch:
            out += ch
        else:
            out += f"\\U{cp:08x}" if cp > 0xFFFF else f"\\u{cp:04x}"
    return out + '"'


class Repeat:
    """A text made of n copies of unit, written in C++ as repeat(unit, n)."""

    def __init__(self, unit, n):
        self.text = unit * n
        self.cpp = f"repeat({cpp_literal(unit)}, {n})"


def text_of(entry):
    return entry.text if isinstance(entry, Repeat) else entry


def cpp_text(entry):
    """A C++ expression for a case's text (a literal that holds a NUL needs its length)."""
    if isinstance(entry, Repeat):
        return entry.cpp
    lit = cpp_literal(entry)
    return f"std::string({lit}, {len(entry.encode('utf-8'))})" if "\0" in entry else lit


# Texts encoded with the real vocabularies, uncased and cased.
REAL_CASES = [
    # accents and combining marks
    "café", "naïve", "Ångström", "CAFÉ Naïve ÅNGSTRÖM", "e\u0301te\u0301", "n\u0303o", "a\u0308\u0323",
    "Straße ÄÖÜ äöü", "İstanbul", "\u212b \u212a \u2126", "façade résumé Zoë", "x²", "ﬁne",
    # CJK, Hangul, kana and other scripts
    "中文字符", "我爱北京天安门。", "日本語のテキスト", "カタカナ ひらがな", "한국어 텍스트", "\uf900\u8c48",
    "Hello 世界!", "Ελληνικά ΣΊΣΥΦΟΣ", "Привет, МИР", "مرحبا", "שלום", "ภาษาไทย", "हिन्दी", "ＡＢＣ１２３",
    # punctuation, ASCII and Unicode P*
    "Hello, world!", "«quoted» — dash… ¿qué? ¡sí!", "a.b,c;d:e", "100% (x) [y] {z} <w>", "don't l'été",
    "$5.00 & #1 @home ~tilde ^caret `tick` _under_ |pipe| \\back/slash", "\u201csmart\u201d \u2018quotes\u2019",
    "a\u2014b\u2013c\u2010d", "\u3001\u3002\u300c\u300d", "\u00a7\u00b6\u00b7",
    # control and format characters
    "a\x01b", "a\u200bb", "\ufeffstart", "x\ufffdy", "a\0b", "a\x7fb", "\x1b[31mred", "a\u0085b",
    "a\u200db\u200ec", "a\u00adb", "\ue000private",
    # whitespace variants
    "tab\there", "line\r\nbreak\nend\r", "nbsp\u00a0here", "ideographic\u3000space", "a\u2028b\u2029c",
    "a\x0bb\x0cc", "en\u2002em\u2003thin\u2009", "  leading and trailing  ", "a\u1680b\u202fc\u205fd",
    # unknown characters and emoji
    "☃", "a☃b", "I ❤ NY 😀🎉", "👍🏽 ok", "\U0010ffff", "\U000e0001tag",
    # long words: 100 characters are still word-pieced, 101 are [UNK]
    Repeat("x", 100), Repeat("x", 101), Repeat("é", 100), Repeat("e\u0301", 50), Repeat("e\u0301", 51),
    "unaffable tokenization antidisestablishmentarianism electroencephalographically",
    # literal special tokens
    "[SEP]", "a[SEP]b", "[sep]", "[MASK]", "[mask]", "[CLS] hello [SEP] world [PAD][PAD]", "[[SEP]]",
    "[SEP", "[UNK]x", "[ SEP ]", "[S\u200bEP]", "x[MASK]\u0301",
    # empty and nothing-but-dropped texts
    "", " ", "\t\n", "\x01\x02\u200b", "3.14159 1,000,000",
]

# A small vocabulary, built in memory by the unit tests too: structural cases without data.
SMALL_VOCAB = [
    *SPECIAL_TOKENS, "a", "b", "ab", "##a", "##b", "##ab", "x", "##x", "un", "##aff", "##able",
    ".", ",", "!", "é", "##é", "\u1b44", "##\u1b44", "\u302e", "##\u302e", "\u0301", "##\u0301",
]
SMALL_CASES = [
    "ab", "aab", "abab", "unaffable", "xyz", "a.b,a!", "ABA", "é", "ée", "e\u0301",
    # canonical ordering of kept combining marks (ccc 224 and 9), and what blocks it:
    # U+034F is an Mn starter (dropped after NFD), U+200B a Cf dropped before NFD.
    "x\u302e\u1b44", "x\u302e\u0301\u1b44", "x\u302e\u034f\u1b44", "x\u302e\u200b\u1b44",
    "x\u302e\u302e\u1b44\u1b44",
    Repeat("a", 100), Repeat("a", 101), "[SEP]ab[CLS]", "[MASK]",
]

# Pair truncation: (len_a, len_b (None: single sequence), max_len).
TRUNCATION_CASES = [
    (10, 10, 18), (1, 20, 8), (20, 1, 8), (7, 7, 16), (7, 8, 16), (8, 7, 16), (3, 100, 13),
    (100, 3, 13), (100, 100, 13), (100, 100, 14), (5, 5, 13), (6, 5, 13), (0, 10, 8), (10, 0, 8),
    (4, 4, 3), (4, 4, 4), (1, 1, 4), (2, 30, 10), (30, 2, 10), (11, 12, 20), (12, 11, 20),
    (10, None, 7), (3, None, 7), (5, None, 7), (5, None, 2),
]


def print_wrapped(line):
    """Prints one initializer line, wrapped after ", " at 100 columns, continuation lines
    indented 4 more (the layout of the checked-in tables)."""
    indent = "    "
    current = indent
    for word in re.split(r"(?<=, )", line):
        if len(current) + len(word) > 100 and current.strip():
            print(current.rstrip())
            current = indent + "    "
        current += word
    print(current.rstrip())


def ids(tokenizer, text):
    return tokenizer.encode(text, add_special_tokens=False).ids


def print_cases(cases, uncased, cased):
    for entry in cases:
        text = text_of(entry)
        u = ", ".join(map(str, ids(uncased, text)))
        c = ", ".join(map(str, ids(cased, text)))
        print_wrapped(f"{{{cpp_text(entry)}, {{{u}}}, {{{c}}}}},")


def main(argv):
    data_dir = Path(argv[0]) if argv else DEFAULT_DATA_DIR
    # max_len 0: no truncation, the cases are about tokenization alone.
    uncased = load_bert_tokenizer(str(data_dir / "vocab" / "bert-base-uncased-vocab.txt"), lowercase=True, max_len=0)
    cased = load_bert_tokenizer(str(data_dir / "vocab" / "bert-base-cased-vocab.txt"), lowercase=False, max_len=0)
    print("// kRealCases: {text, uncased ids, cased ids}")
    print_cases(REAL_CASES, uncased, cased)

    print("\n// kSmallVocab")
    print_wrapped(", ".join(map(cpp_literal, SMALL_VOCAB)) + ",")
    small_uncased = load_bert_tokenizer(SMALL_VOCAB, lowercase=True, max_len=0)
    small_cased = load_bert_tokenizer(SMALL_VOCAB, lowercase=False, max_len=0)
    print("// kSmallCases: {text, uncased ids, cased ids}")
    print_cases(SMALL_CASES, small_uncased, small_cased)

    print("\n// kTruncationCases: {len_a, len_b (-1: single), max_len, kept_a, kept_b}")
    for la, lb, max_len in TRUNCATION_CASES:
        tok = load_bert_tokenizer(SMALL_VOCAB, lowercase=True, max_len=max_len)
        a = "a " * la
        enc = tok.encode(a) if lb is None else tok.encode(a, "b " * lb)
        # Each a is one piece of type 0, each b one of type 1; the specials are [CLS] A [SEP]
        # (type 0) and B [SEP] (type 1), so the kept lengths are the type counts less those.
        kept_a = enc.type_ids.count(0) - 2
        kept_b = 0 if lb is None else enc.type_ids.count(1) - 1
        print(f"    {{{la}, {-1 if lb is None else lb}, {max_len}, {kept_a}, {kept_b}}},")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
