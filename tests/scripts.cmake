# Script-driven tests register here (add_test with a command line).

# --- WordPiece tokenizer parity with Hugging Face (tests/hf/parity.py) ---------------------
# mtdnn-bench-tokenizer --ids encodes a pairs file the way BertTokenizerFast does; parity.py
# runs it and the Hugging Face tokenizer (the `tokenizers` package of the project's Python,
# MTDNN_PYTHON) on every GLUE row and on every Unicode code point. The GLUE check skips
# (status 77) when the data is absent; $MTDNN_DATA_DIR overrides the data folder.
# The package is looked for at configure time: without it the tests are not registered and
# a STATUS line says why (rather than three tests failing on an import error).
set(mtdnn_hf_missing "")
if(NOT MTDNN_PYTHON)
  set(mtdnn_hf_missing "MTDNN_PYTHON is not set")
else()
  execute_process(COMMAND ${MTDNN_PYTHON} -c "import tokenizers"
                  RESULT_VARIABLE mtdnn_hf_import OUTPUT_QUIET ERROR_QUIET)
  if(NOT mtdnn_hf_import STREQUAL "0")
    set(mtdnn_hf_missing "${MTDNN_PYTHON} -c 'import tokenizers' failed (${mtdnn_hf_import})")
  endif()
endif()
if(mtdnn_hf_missing STREQUAL "")
  foreach(casing uncased cased)
    add_test(NAME tokenizer_parity_glue_${casing}
             COMMAND ${MTDNN_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/hf/parity.py
                     --tool $<TARGET_FILE:mtdnn-bench-tokenizer> --vocab ${casing} --max-len 512,128
                     --data-dir ${MTDNN_DEFAULT_DATA_DIR})
    set_tests_properties(tokenizer_parity_glue_${casing} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
  endforeach()
  add_test(NAME tokenizer_parity_unicode_sweep
           COMMAND ${MTDNN_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/hf/parity.py --sweep
                   --tool $<TARGET_FILE:mtdnn-bench-tokenizer>)
  set_tests_properties(tokenizer_parity_unicode_sweep PROPERTIES TIMEOUT 600)
else()
  message(STATUS "${mtdnn_hf_missing}: tokenizer parity tests (tests/hf/parity.py) not registered")
endif()

# --- The README's command-line reference matches each executable's --help ------------------
add_test(NAME readme_cli_in_sync
         COMMAND ${PROJECT_SOURCE_DIR}/scripts/update-readme-cli.sh --check ${CMAKE_BINARY_DIR}/bin)

# --- One-node Slurm cluster (scripts/local-slurm.sh) -----------------------------------------
# Starts munged, slurmctld and slurmd under the build tree, runs a 2-rank MPI job through
# sbatch + srun --mpi=pmix, checks that scancel --signal=USR1 --batch reaches the batch
# script's trap, and always stops the daemons. Needs root and the Slurm packages (setup.sh);
# fails with a message naming them when they are missing. Serial: it owns ports 6827-6828.
add_test(NAME slurm.local_cluster
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/slurm/local_cluster_test.sh
                 ${CMAKE_BINARY_DIR}/slurm-local-test)
set_tests_properties(slurm.local_cluster PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE LABELS slurm)

# --- slurm/preprocess.sbatch as a job array on the one-node cluster --------------------------
add_test(NAME slurm.preprocess_array
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/slurm/preprocess_array_test.sh ${CMAKE_BINARY_DIR}
                 ${CMAKE_BINARY_DIR}/slurm-preprocess-test)
set_tests_properties(slurm.preprocess_array PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE LABELS slurm
                     SKIP_RETURN_CODE 77)

# --- mtdnn-train: the end-to-end GLUE run -----------------------------------------------------
# End to end on real GLUE (tests/e2e/train_glue_test.sh): preprocess, `mpirun -np 2 mtdnn-train`
# of a tiny BERT for 1000 steps, SST-2 dev accuracy above the majority class, mtdnn-predict
# reproducing the dev predictions. Skips (77) without ../shared/data or $MTDNN_DATA_DIR.
if(MTDNN_WITH_TORCH AND TARGET mtdnn-train)
  add_test(NAME train.e2e_glue
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/e2e/train_glue_test.sh ${CMAKE_BINARY_DIR}/bin
                   ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/train-e2e-test ${MTDNN_DEFAULT_DATA_DIR})
  set_tests_properties(train.e2e_glue PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE SKIP_RETURN_CODE 77 LABELS e2e)
  # scripts/quickstart.sh itself (tests/e2e/quickstart_test.sh), with 1000 training steps.
  add_test(NAME quickstart.glue
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/e2e/quickstart_test.sh ${CMAKE_BINARY_DIR}/bin
                   ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/quickstart-test ${MTDNN_DEFAULT_DATA_DIR})
  set_tests_properties(quickstart.glue PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE SKIP_RETURN_CODE 77 LABELS e2e)
  # The pretraining stage (tests/e2e/pretrain_test.sh): corpus -> shards -> `mpirun -np 2`
  # MLM + NSP training whose held-out MLM accuracy must beat twice the unigram baseline ->
  # BertForPreTraining export -> stage 2 from it, and continued pretraining with its heads.
  add_test(NAME train.e2e_pretrain
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/e2e/pretrain_test.sh ${CMAKE_BINARY_DIR}/bin
                   ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/pretrain-e2e-test ${MTDNN_DEFAULT_DATA_DIR})
  set_tests_properties(train.e2e_pretrain PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE SKIP_RETURN_CODE 77 LABELS e2e)
  # scripts/reproduce.sh --quick (tests/e2e/reproduce_quick_test.sh): the MT-DNN experiment's
  # whole path on the packaged encoder (the splits, refinement, every arm, the rate grid, the
  # adaptation curve, 2 seeds, paired intervals, results.md/json/png) with tiny data and
  # budgets; a rerun runs nothing, a removed result runs again alone, and --update-readme
  # refuses quick-mode numbers.
  add_test(NAME reproduce.quick
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/e2e/reproduce_quick_test.sh ${CMAKE_BINARY_DIR}/bin
                   ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/reproduce-quick-test ${MTDNN_DEFAULT_DATA_DIR})
  set_tests_properties(reproduce.quick PROPERTIES TIMEOUT 1500 RUN_SERIAL TRUE SKIP_RETURN_CODE 77 LABELS e2e)
endif()

# --- Checkpoints (checkpoints/; units in tests/checkpoints/checkpoint_test.cc) --------------
# A checkpoint is readable without this program: plain Python (json, struct, hashlib)
# verifies an imported checkpoint and finds the golden model's tensors in it, byte for byte.
if(TARGET mtdnn-ckpt)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    add_test(NAME Checkpoint.python_reader
             COMMAND bash ${PROJECT_SOURCE_DIR}/tests/checkpoints/python_reader_test.sh
                     $<TARGET_FILE:mtdnn-ckpt> ${Python3_EXECUTABLE} ${CMAKE_BINARY_DIR}/checkpoint-python-test)
    set_tests_properties(Checkpoint.python_reader PROPERTIES TIMEOUT 120)
  endif()
endif()

# --- mtdnn-train stop and resume (tests/scripts/train_resume_test.sh) -------------------------
# mpirun -np 2 on tiny data: SIGUSR1 mid-run gives exit status 85 and a checkpoint; rerun
# with --resume auto ends with the uninterrupted run's model.safetensors, byte for byte; so
# does a run whose ranks are SIGKILLed at three points (in steps or saves) and resumed. Each
# resumed run's TensorBoard event files read back (tensorboard package) equal its metrics.jsonl.
if(MTDNN_WITH_TORCH AND TARGET mtdnn-train AND TARGET mtdnn-preprocess)
  add_test(NAME train.stop_and_resume
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/scripts/train_resume_test.sh ${CMAKE_BINARY_DIR}/bin
                   ${CMAKE_BINARY_DIR}/train-resume-test ${MTDNN_PYTHON})
  set_tests_properties(train.stop_and_resume PROPERTIES TIMEOUT 420 RUN_SERIAL TRUE LABELS mpi)
endif()

# --- A stalled rank (tests/scripts/comm_timeout_test.sh) -------------------------------------
# `mpirun -np 2 mtdnn-train --comm-timeout 3`, rank 1 stopped with SIGSTOP mid-run: the job
# ends with exit status 86 within the deadline plus a margin, rank 0's message names the
# collective and rank 1, no rank is left, and --resume auto then completes the run.
if(MTDNN_WITH_TORCH AND TARGET mtdnn-train AND TARGET mtdnn-preprocess)
  add_test(NAME train.stalled_rank_times_out
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/scripts/comm_timeout_test.sh ${CMAKE_BINARY_DIR}/bin
                   ${CMAKE_BINARY_DIR}/comm-timeout-test)
  set_tests_properties(train.stalled_rank_times_out PROPERTIES TIMEOUT 180 RUN_SERIAL TRUE LABELS mpi)
endif()

# --- Two nodes of network namespaces (tests/cluster/two_node_test.sh) -----------------------
# mpirun over two "nodes" (own addresses and host names, a veth link, TCP between them):
# 4 ranks equal one host's 4; node2 killed mid-run ends the job with a failure status, then
# the same command resumes on node1 with 2 ranks; a stalled rank on node2 ends the job with status 86.
# Skipped (77) where network namespaces cannot be made (not root).
if(MTDNN_WITH_TORCH AND TARGET mtdnn-train AND TARGET mtdnn-preprocess)
  add_test(NAME cluster.two_nodes
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/cluster/two_node_test.sh ${CMAKE_BINARY_DIR}/bin
                   ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/two-node-test)
  set_tests_properties(cluster.two_nodes PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE SKIP_RETURN_CODE 77 LABELS mpi)
endif()

# --- mtdnn-predict: scores files and ensembles (tests/scripts/predict_scores_test.sh) ---------
# Tiny classification, regression and ranking tasks trained twice (no GLUE needed): the
# training run's <task>_<split>.scores.tsv agree with its submission files, `mtdnn-predict
# --scores` reproduces them, the same model twice is the model, and two models' ensemble is
# the average of their scores files with predictions and metrics decided from it.
if(MTDNN_WITH_TORCH AND TARGET mtdnn-train AND TARGET mtdnn-preprocess AND TARGET mtdnn-predict)
  add_test(NAME predict.scores_and_ensemble
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/scripts/predict_scores_test.sh ${CMAKE_BINARY_DIR}/bin
                   ${CMAKE_BINARY_DIR}/predict-scores-test)
  set_tests_properties(predict.scores_and_ensemble PROPERTIES TIMEOUT 300)
endif()

# --- docs/adding-a-task-type.md shows compiled code (tests/docs/task_type_page_test.sh) ------
add_test(NAME docs.task_type_page
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/docs/task_type_page_test.sh ${PROJECT_SOURCE_DIR})

# --- docs/custom-task.md, run as written (tests/docs/run_tutorial.sh) -------------------------
# Every ```bash block of the tutorial in order in a scratch folder (preprocess three custom
# tasks, plus RTE when GLUE is there, `mpirun -np 2 mtdnn-train` of a tiny BERT, fine-tuning,
# mtdnn-predict); checks shards, metrics.jsonl, predictions with string labels, and that each
# "common mistakes" command fails with the message the doc shows. Skips (77) without the
# vocabulary in ../shared/data or $MTDNN_DATA_DIR.
if(MTDNN_WITH_TORCH AND TARGET mtdnn-train AND TARGET mtdnn-preprocess AND TARGET mtdnn-predict)
  add_test(NAME docs.custom_task_tutorial
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/docs/run_tutorial.sh ${CMAKE_BINARY_DIR}/bin
                   ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/docs-tutorial-test ${MTDNN_DEFAULT_DATA_DIR})
  set_tests_properties(docs.custom_task_tutorial PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE SKIP_RETURN_CODE 77
                       LABELS e2e)
endif()

# --- slurm/run-with-requeue.sh's decisions (tests/slurm/requeue_wrapper_test.sh) -------------
# Stand-ins for scontrol and squeue: failures requeued at most MAX_RESTARTS times across
# requeues, usage errors never, STOP_SIGNAL taken and forwarded as USR1.
add_test(NAME slurm.requeue_wrapper
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/slurm/requeue_wrapper_test.sh ${PROJECT_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/slurm-requeue-wrapper-test)
set_tests_properties(slurm.requeue_wrapper PROPERTIES TIMEOUT 120 LABELS slurm)

# --- slurm/train.sbatch on the one-node cluster: preemption, time limit, killed rank ---------
add_test(NAME slurm.train_requeue
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/slurm/train_requeue_test.sh ${CMAKE_BINARY_DIR}
                 ${CMAKE_BINARY_DIR}/slurm-train-test)
set_tests_properties(slurm.train_requeue PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE LABELS slurm
                     SKIP_RETURN_CODE 77)

# --- The device and precision seam on the CPU (tests/scripts/precision_paths_test.sh) -------
# One process per run on tiny data: --precision bf16 and fp16 (CPU autocast; fp16 with its
# loss scale) track fp32's training losses; checkpoints written on one path resume on
# another; every path writes the same state format (fp16 adds its scaler's state);
# --device cuda without CUDA fails with a message.
if(MTDNN_WITH_TORCH AND TARGET mtdnn-train AND TARGET mtdnn-preprocess)
  add_test(NAME train.precision_paths
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/scripts/precision_paths_test.sh ${CMAKE_BINARY_DIR}/bin
                   ${CMAKE_BINARY_DIR}/precision-paths-test)
  set_tests_properties(train.precision_paths PROPERTIES TIMEOUT 300)
endif()

# --- mtdnn-train on a GPU (tests/gpu/gpu_train_test.sh; label gpu, skipped without CUDA) ----
# bf16 with NCCL at world size 1, two ranks sharing the GPU over MPI against one rank, a GPU
# checkpoint resumed on the CPU. scripts/gpu-check.sh runs it with the other gpu tests.
if(MTDNN_WITH_TORCH AND TARGET mtdnn-train AND TARGET mtdnn-preprocess)
  add_test(NAME gpu.train
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/gpu/gpu_train_test.sh ${CMAKE_BINARY_DIR}/bin
                   ${CMAKE_BINARY_DIR}/gpu-train-test ${MTDNN_DEFAULT_DATA_DIR})
  set_tests_properties(gpu.train PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE SKIP_RETURN_CODE 77 LABELS gpu)
endif()

# --- scripts/gpu-check.sh and scripts/gpu-deps.sh where there is no GPU ----------------------
# The dry run parses the options, checks the dependencies and prints the plan; the companion
# passes bash -n and lists its 29 packages; --cpu-smoke runs the GPU training script, both
# benchmarks and the results file on the CPU (small configurations).
add_test(NAME gpu_check.dry_run
         COMMAND bash -c "bash -n scripts/gpu-deps.sh && test $(bash scripts/gpu-deps.sh --list | wc -l) -eq 29 && bash -n scripts/gpu-check.sh && OUT='${CMAKE_BINARY_DIR}/gpu-check-dry-run' bash scripts/gpu-check.sh --dry-run | grep -q 'plan (dry run' && ! bash scripts/gpu-check.sh --no-such-option"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(gpu_check.dry_run PROPERTIES TIMEOUT 60)
# The packing step the GPU check needs beforehand (the GPU machine has no package registry):
# downloads and unpacks the Debian packages, packs the prefix; the prefix must hold the
# headers and CMake files the build looks for.
add_test(NAME gpu_check.deps_pack
         COMMAND bash -c "scripts/gpu-deps.sh '${CMAKE_BINARY_DIR}/gpu-deps/deps' && test -s '${CMAKE_BINARY_DIR}/gpu-deps/deps.tar.gz' && cd '${CMAKE_BINARY_DIR}/gpu-deps/deps' && ls usr/include/hdf5/serial/hdf5.h usr/include/boost/program_options.hpp usr/include/yaml-cpp/yaml.h usr/include/fmt/format.h usr/include/nlohmann/json.hpp usr/include/utf8proc.h usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h usr/bin/mpirun"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(gpu_check.deps_pack PROPERTIES TIMEOUT 300)
if(MTDNN_WITH_TORCH AND TARGET mtdnn-train AND TARGET mtdnn-preprocess AND TARGET mtdnn-bench-gpu-torch)
  add_test(NAME gpu_check.cpu_smoke
           COMMAND ${CMAKE_COMMAND} -E env OUT=${CMAKE_BINARY_DIR}/gpu-check-cpu-smoke
                   bash ${PROJECT_SOURCE_DIR}/scripts/gpu-check.sh --cpu-smoke --build ${CMAKE_BINARY_DIR})
  set_tests_properties(gpu_check.cpu_smoke PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
endif()

# --- What a CUDA LibTorch build links (cmake/torch.cmake) -----------------------------------
# With a LibTorch that has CUDA, mtdnn-train must load libtorch_cuda and the NCCL of the
# same wheel, and only one LibTorch generation (no Debian libc10 mixed in); without CUDA,
# neither CUDA library may appear; with the wheel, libstdc++ is looked up before libtorch.
if(MTDNN_WITH_TORCH AND TARGET mtdnn-train)
  add_test(NAME build.libtorch_links
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/scripts/libtorch_links_test.sh $<TARGET_FILE:mtdnn-train>
                   ${MTDNN_LIBTORCH} ${MTDNN_WITH_CUDA} ${MTDNN_HAVE_NCCL} "${NCCL_LIBRARY}")
  set_tests_properties(build.libtorch_links PROPERTIES TIMEOUT 60)
endif()

# --- The packaged pretrained encoder with Hugging Face (tests/hf/sequence_classifier_test.sh) --
# scripts/pretrained-encoder.sh's folder fine-tuned on SST-2 for 200 steps (2 ranks); the
# export-hf --task folder loaded by transformers predicts what mtdnn-predict does within
# 1e-4 on 200 dev rows; folders saved by transformers predict the same in mtdnn-predict; a
# SAN head is refused on export. Needs the project's Python (transformers, the encoder wheel).
if(MTDNN_WITH_TORCH AND MTDNN_PYTHON AND TARGET mtdnn-train AND TARGET mtdnn-predict AND TARGET mtdnn-ckpt)
  add_test(NAME hf.sequence_classifier
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/hf/sequence_classifier_test.sh ${CMAKE_BINARY_DIR}/bin
                   ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/hf-sequence-classifier-test ${MTDNN_DEFAULT_DATA_DIR}
                   ${MTDNN_PYTHON})
  set_tests_properties(hf.sequence_classifier PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE SKIP_RETURN_CODE 77
                       LABELS e2e)
endif()

# --- Fine-tuning against Hugging Face (scripts/compare-hf-finetune.sh --quick) ----------------
# tests/e2e/compare_hf_quick_test.sh: the packaged encoder fine-tuned on RTE and STS-B for 20
# steps by mtdnn-train (2 ranks) and by bench/hf_finetune.py (transformers); both sides must
# read the same examples, take the same steps and appear in every row of the report. Skips
# (77) without GLUE in ../shared/data or $MTDNN_DATA_DIR, the encoder or the Python packages.
if(MTDNN_WITH_TORCH AND TARGET mtdnn-train AND TARGET mtdnn-preprocess)
  add_test(NAME hf.finetune_compare_quick
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/e2e/compare_hf_quick_test.sh ${CMAKE_BINARY_DIR}/bin
                   ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/compare-hf-quick-test ${MTDNN_DEFAULT_DATA_DIR})
  set_tests_properties(hf.finetune_compare_quick PROPERTIES TIMEOUT 1200 RUN_SERIAL TRUE SKIP_RETURN_CODE 77
                       LABELS e2e)
endif()

# --- scripts/download-glue.sh against a local mirror (tests/scripts/download_glue_test.sh) ----
# GLUE's zips and MRPC's SentEval sources rebuilt from the GLUE files in ../shared/data,
# served by python3 -m http.server on 127.0.0.1 (no other network): every file lands and
# verifies, a re-run requests nothing, changed and truncated files are errors naming them and
# leave the verified files in place. Skips (77) without GLUE in the data folder.
add_test(NAME scripts.download_glue
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/scripts/download_glue_test.sh ${MTDNN_DEFAULT_DATA_DIR}
                 ${CMAKE_BINARY_DIR}/download-glue-test)
set_tests_properties(scripts.download_glue PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)

# --- The best evaluation and early stopping (tests/scripts/best_checkpoint_test.sh) ------------
# mpirun -np 2 on tiny data: best/ holds the evaluation with the highest dev accuracy as a
# model folder mtdnn-predict scores the same and a checkpoint mtdnn-ckpt verifies; every
# evaluation's predictions kept under predictions/step-<step>/; a plateau stops early with
# exit status 0 and best/ outlives --keep-checkpoints 1.
if(MTDNN_WITH_TORCH AND TARGET mtdnn-train AND TARGET mtdnn-predict AND TARGET mtdnn-ckpt)
  add_test(NAME train.best_and_early_stop
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/scripts/best_checkpoint_test.sh ${CMAKE_BINARY_DIR}/bin
                   ${CMAKE_BINARY_DIR}/best-checkpoint-test)
  set_tests_properties(train.best_and_early_stop PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE LABELS mpi)
endif()

# --- The benchmark peers (tests/scripts/bench_peers_test.sh) -----------------------------------
# bench/ref_mtdnn.py and bench/hf_peer.py (Hugging Face's BERT) run the model-step, GLUE-batch
# and both pretraining workloads of the bench scripts on a tiny model and print the line the
# scripts parse. Skips (77) without torch and transformers in the project's Python.
if(MTDNN_PYTHON)
  add_test(NAME bench.peers_smoke
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/scripts/bench_peers_test.sh ${MTDNN_PYTHON}
                   ${PROJECT_SOURCE_DIR} ${MTDNN_DEFAULT_DATA_DIR}/../bench/lengths)
  set_tests_properties(bench.peers_smoke PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()
