# Tiny data for the script tests (sourced): a 20-word vocabulary, sentences made from it
# deterministically, the 'topic' classification task's files, and the preprocessing and
# encoder shape every tiny run shares, and the tests' fail and note. Uses $bin and $scratch.
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }

words=(the cat sat on mat dog ran a who big red fox saw it and hid in box was not)

# toy_vocab [EXTRA_WORD...]: $scratch/vocab.txt: the special tokens, the words, the extras.
toy_vocab() {
  mkdir -p "$scratch/in"
  printf '%s\n' '[PAD]' '[UNK]' '[CLS]' '[SEP]' '[MASK]' "${words[@]}" "$@" >"$scratch/vocab.txt"
}

# sentence K N: N words chosen by K (the same K and N give the same sentence).
sentence() { local s="" i; for ((i = 0; i < $2; ++i)); do s+="${s:+ }${words[$((($1 * 7 + i * 3) % 20))]}"; done; echo "$s"; }

# toy_topic: the 'topic' classification task (labels pets and other): starts
# $scratch/tasks.yml with its definition and writes $scratch/in/topic_{train,dev}.tsv (uid,
# label, sentence), 40 and 8 rows.
toy_topic() {
  local i
  cat >"$scratch/tasks.yml" <<'YAML'
topic:
  task_type: Classification
  data_format: PremiseOnly
  n_class: 2
  labels: [pets, other]
  metric_meta: [ACC]
  split_names: [train, dev]
YAML
  for i in $(seq 0 39); do
    printf 't%d\t%s\t%s\n' "$i" "$([ $((i % 3)) -eq 0 ] && echo other || echo pets)" "$(sentence "$i" $((2 + i % 6)))"
  done >"$scratch/in/topic_train.tsv"
  for i in $(seq 0 7); do
    printf 'd%d\t%s\t%s\n' "$i" "$([ $((i % 2)) -eq 0 ] && echo other || echo pets)" "$(sentence $((i + 50)) 4)"
  done >"$scratch/in/topic_dev.tsv"
}

# toy_preprocess MAX_SEQ_LEN: the files of $scratch/in, tasks $scratch/tasks.yml, into $scratch/data.
toy_preprocess() {
  "$bin/mtdnn-preprocess" --task-def "$scratch/tasks.yml" --input "$scratch/in" --vocab "$scratch/vocab.txt" \
    --max-seq-len "$1" --threads 1 --out "$scratch/data" >"$scratch/preprocess.log" 2>&1 \
    || { cat "$scratch/preprocess.log"; fail "mtdnn-preprocess failed"; }
}

# toy_bert_config HIDDEN: $scratch/bert.json, 2 layers of 2 heads, feed-forward 2 x HIDDEN,
# 32 positions, over $scratch/vocab.txt.
toy_bert_config() {
  printf '{"vocab_size": %d, "hidden_size": %d, "num_hidden_layers": 2, "num_attention_heads": 2,\n "intermediate_size": %d, "max_position_embeddings": 32}\n' \
    "$(wc -l <"$scratch/vocab.txt")" "$1" $(($1 * 2)) >"$scratch/bert.json"
}
