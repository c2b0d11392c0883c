#!/usr/bin/env bash
# Regenerate every number of the round-5 model work, in order (about 13 hours on 2 CPU cores).
#
#   bash evaluation/reproduce.sh [WORK]      # WORK: where models and pools go (default /tmp/cnlp)
#
# Needs: pip install torch==2.13.0 -e ".[dev,eval]"; ../shared/data beside the repository; the
# all-mpnet-base-v2 folder at $MPNET (see training/README.md for the five PyPI volumes).
# Each step skips a model that is already trained in WORK, so a stopped run can be restarted.
# OLD_MODEL (optional): the model folder shipped before round 5, for the comparison on the
# earlier test split (git worktree add /tmp/old 24c985a; /tmp/old/models/compassion-minilm).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/cnlp}
MPNET=${MPNET:-$WORK/all-mpnet-base-v2}
SHARED=${SHARED:-../shared/data}
GEN="python evaluation/classifier/generalisation.py"
mkdir -p "$WORK"

# the corpus, its consistency and agreement, the synthetic log
python data/scripts/assemble.py
python data/scripts/check_consistency.py --review 0 > /dev/null
python data/scripts/agreement.py
python data/scripts/synthetic_log.py

# (a) MiniLM on real + synthetic rows, (a') the ablation without synthetic rows
$GEN train minilm --work "$WORK"
$GEN train minilm-real --work "$WORK"
# (b) the MPNet teacher; its probabilities on the unlabelled pool; (c) the distilled student
$GEN train mpnet --work "$WORK" --mpnet "$MPNET" \
    --mpnet-overrides '{"epochs": 3, "learning_rate": 3e-05}'
python data/scripts/unlabelled_pool.py --shared "$SHARED" --out "$WORK/pool.jsonl"
# (the teacher on ONNX Runtime int8: about twice torch's speed here; the recorded run labelled
# its first 18,432 rows with torch bfloat16 and the rest this way)
python -c "import sys; from compassion_nlp.backends import load_classifier; \
from compassion_nlp.distill import soft_label_file; \
soft_label_file(load_classifier(sys.argv[1], backend='onnx', precision='int8', threads=2), \
sys.argv[2], sys.argv[3])" "$WORK/mpnet" "$WORK/pool.jsonl" "$WORK/soft.jsonl"
# 3 epochs of the 28,873 training rows plus 18,000 fresh pool rows each: ~17 min an epoch,
# inside the 60-minute budget of a shipped model's training run
$GEN train distilled --work "$WORK" --soft "$WORK/soft.jsonl" --soft-per-epoch 18000 \
    --student-overrides '{"epochs": 3}'

# leave one source out (the minilm configuration)
for source in primock57 aci_bench mts_dialog qmsum mibot physical_activity_counseling counsel_chat; do
    $GEN loso "$source" --work "$WORK"
done
$GEN report

# the shipped model (the distilled arm, chosen by the rule: its model card README.md stays):
# test metrics, baselines, calibration, speed, report and model card
cp "$WORK"/distilled/{compassion.json,config.json,model.safetensors,tokenizer.json,tokenizer_config.json} \
    models/compassion-minilm/
# tried, not shipped: the distilled arm mixed with TF-IDF + LR; round 6, the distilled arm and
# the minilm arm averaged (each a section of the report)
python evaluation/classifier/hybrid.py
python evaluation/classifier/soup.py --minilm "$WORK/minilm" --out "$WORK/soup"
# round 7: the thresholds chosen on dev by the rule that does best on dev halves (half the best
# F1), written into the shipped model
python evaluation/classifier/thresholds.py --apply
python evaluation/classifier/evaluate.py ${OLD_MODEL:+--previous "$OLD_MODEL"}
$GEN report
python evaluation/benchmarks/benchmark.py --threads 2
python evaluation/report.py

# the fast model: the shipped model cut to 3 layers, trained on its own probabilities
python -c "import sys; from compassion_nlp.backends import load_classifier; \
from compassion_nlp.distill import soft_label_file; \
soft_label_file(load_classifier(sys.argv[1], backend='onnx', precision='int8', threads=2), \
sys.argv[2], sys.argv[3])" models/compassion-minilm "$WORK/pool.jsonl" "$WORK/soft-minilm.jsonl"
$GEN train fast --work "$WORK" --soft "$WORK/soft-minilm.jsonl" --soft-per-epoch 18000 \
    --student-overrides '{"epochs": 3}'
mkdir -p models/compassion-minilm-fast
cp "$WORK"/fast/{compassion.json,config.json,model.safetensors,tokenizer.json,tokenizer_config.json} \
    models/compassion-minilm-fast/
python evaluation/classifier/thresholds.py --model models/compassion-minilm-fast \
    --results evaluation/classifier/runs/thresholds-fast.json --apply

# batch scoring at scale and the backends' agreement (issue 10)
python evaluation/classifier/backends.py
python evaluation/benchmarks/scale.py --base 2000 --scales 1 4 16 \
    --configs onnx:int8 torch:bfloat16 --threads 2
python evaluation/benchmarks/scale.py --base 2000 --scales 1 4 16 --configs onnx:int8 \
    --workload consultations --threads 2
python evaluation/classifier/backends.py --model models/compassion-minilm-fast \
    --results evaluation/classifier/backends-fast.json
python evaluation/benchmarks/scale.py --base 2000 --scales 1 4 16 --configs onnx:int8 \
    --threads 2 --model models/compassion-minilm-fast \
    --results evaluation/benchmarks/scale-fast.json
python evaluation/report.py

# validity (issue 12): cross-domain (non-commercial sets read from ../shared, nothing of them
# written here), known groups, then evaluation/VALIDITY.md; EPITOME takes its data path
python evaluation/validity/validity.py --all
python evaluation/validity/epitome.py --data "$SHARED/labelled/epitome_reddit" --seeds 5 \
    --threads 2 --work "$WORK/epitome"
python evaluation/validity/validity.py --render
# the model card takes the validity headline numbers
python evaluation/report.py
