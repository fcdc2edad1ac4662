// GLUE metrics (see metrics.h). Sums are in double, means subtracted before products
// (two-pass), so large evaluation sets do not lose precision.
#include "task_kinds/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/error.h"

namespace mtdnn::task_kinds {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <typename A, typename B>
void check_sizes(const A& a, const B& b, const char* what) {
  MTDNN_CHECK(a.size() == b.size(), "{}: {} predictions but {} gold values", what, a.size(), b.size());
}

struct Confusion {
  double tp = 0, fp = 0, fn = 0, tn = 0;
};

Confusion binary_confusion(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold) {
  Confusion c;
  for (size_t i = 0; i < pred.size(); ++i) {
    bool p = pred[i] == 1, g = gold[i] == 1;
    (p ? (g ? c.tp : c.fp) : (g ? c.fn : c.tn)) += 1;
  }
  return c;
}

}  // namespace

double accuracy(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold) {
  check_sizes(pred, gold, "accuracy");
  if (pred.empty()) return kNaN;
  size_t right = 0;
  for (size_t i = 0; i < pred.size(); ++i) right += pred[i] == gold[i];
  return 100.0 * static_cast<double>(right) / static_cast<double>(pred.size());
}

double f1_binary(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold) {
  check_sizes(pred, gold, "F1");
  if (pred.empty()) return kNaN;
  Confusion c = binary_confusion(pred, gold);
  double denominator = 2 * c.tp + c.fp + c.fn;
  return denominator == 0 ? 0.0 : 100.0 * 2 * c.tp / denominator;
}

double matthews_corrcoef(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold) {
  check_sizes(pred, gold, "MCC");
  if (pred.empty()) return kNaN;
  // Multi-class form (sklearn): with C the confusion matrix, t_k = true count of class k,
  // p_k = predicted count, c = correct, s = total:
  //   MCC = (c s - sum_k t_k p_k) / sqrt((s^2 - sum_k p_k^2) (s^2 - sum_k t_k^2)).
  // For two classes it equals (tp tn - fp fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)).
  int64_t classes = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    MTDNN_CHECK(pred[i] >= 0 && gold[i] >= 0, "MCC: negative class id at {}", i);
    classes = std::max({classes, pred[i] + 1, gold[i] + 1});
  }
  std::vector<double> t(static_cast<size_t>(classes), 0), p(static_cast<size_t>(classes), 0);
  double correct = 0, s = static_cast<double>(pred.size());
  for (size_t i = 0; i < pred.size(); ++i) {
    t[static_cast<size_t>(gold[i])] += 1;
    p[static_cast<size_t>(pred[i])] += 1;
    correct += pred[i] == gold[i];
  }
  double tp_sum = 0, pp = 0, tt = 0;
  for (size_t k = 0; k < t.size(); ++k) {
    tp_sum += t[k] * p[k];
    pp += p[k] * p[k];
    tt += t[k] * t[k];
  }
  double denominator = std::sqrt((s * s - pp) * (s * s - tt));
  return denominator == 0 ? 0.0 : 100.0 * (correct * s - tp_sum) / denominator;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x, y, "Pearson");
  if (x.empty()) return kNaN;
  double n = static_cast<double>(x.size());
  double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx == 0 || syy == 0) return kNaN;
  // Clamp: rounding can push |r| a hair above 1 for perfectly correlated data.
  return 100.0 * std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

std::vector<double> average_ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> ranks(x.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
    // Positions i..j (0-based) hold ranks i+1..j+1; their mean is (i + j) / 2 + 1.
    double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x, y, "Spearman");
  return pearson(average_ranks(x), average_ranks(y));
}

double roc_auc(const std::vector<double>& score, const std::vector<int64_t>& gold) {
  check_sizes(score, gold, "AUC");
  std::vector<double> ranks = average_ranks(score);
  double positives = 0, rank_sum = 0;
  for (size_t i = 0; i < gold.size(); ++i)
    if (gold[i] == 1) {
      positives += 1;
      rank_sum += ranks[i];
    }
  double negatives = static_cast<double>(gold.size()) - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  return 100.0 * (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

std::map<std::string, double> compute_metrics(const TaskDef& task, const EvalOutputs& out) {
  std::map<std::string, double> values;
  for (Metric m : task.metric_meta) {
    double v = kNaN;
    switch (m) {
      case Metric::kAcc: v = accuracy(out.predictions, out.labels); break;
      case Metric::kF1: v = f1_binary(out.predictions, out.labels); break;
      case Metric::kMcc: v = matthews_corrcoef(out.predictions, out.labels); break;
      case Metric::kPearson: v = pearson(out.scores, out.gold_scores); break;
      case Metric::kSpearman: v = spearman(out.scores, out.gold_scores); break;
      case Metric::kAuc: v = roc_auc(out.positive_prob, out.labels); break;
    }
    values[to_string(m)] = v;
  }
  return values;
}

void rank_groups(const std::vector<double>& scores, const std::vector<int64_t>& candidate_labels,
                 const std::vector<int64_t>& group_sizes, std::vector<int64_t>* predictions,
                 std::vector<int64_t>* gold) {
  check_sizes(scores, candidate_labels, "ranking");
  predictions->clear();
  gold->clear();
  size_t at = 0;
  for (int64_t k : group_sizes) {
    MTDNN_CHECK(k > 0 && at + static_cast<size_t>(k) <= scores.size(), "ranking: group of {} candidates at {} "
                "exceeds the {} scores", k, at, scores.size());
    int64_t best = 0, positive = -1;
    for (int64_t j = 0; j < k; ++j) {
      if (scores[at + static_cast<size_t>(j)] > scores[at + static_cast<size_t>(best)]) best = j;
      if (candidate_labels[at + static_cast<size_t>(j)] == 1 && positive < 0) positive = j;
    }
    predictions->push_back(best);
    gold->push_back(positive);
    at += static_cast<size_t>(k);
  }
  MTDNN_CHECK(at == scores.size(), "ranking: groups cover {} of {} candidates", at, scores.size());
}

}  // namespace mtdnn::task_kinds
