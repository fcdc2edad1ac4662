// The round protocol: its messages, its table of collectives and one rank's end of it
// (see round_protocol.h; the transports are in control_plane.cc).
#include "comm/round_protocol.h"

#include <algorithm>
#include <cstring>


namespace mtdnn::comm {

namespace {

// Little-endian writer/reader of fixed-width fields.
class Writer {
 public:
  template <typename T>
  Writer& put(T v) {
    for (size_t i = 0; i < sizeof(T); ++i) out_.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
    return *this;
  }
  std::string str() const { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(const std::string& bytes, const char* what) : bytes_(bytes), what_(what) {}
  template <typename T>
  T get() {
    if (pos_ + sizeof(T) > bytes_.size())
      throw CommError(fmt::format("{}: message of {} bytes is too short", what_, bytes_.size()));
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[pos_ + i])) << (8 * i);
    pos_ += sizeof(T);
    return static_cast<T>(v);
  }
  // The message's version, which must be this rank's.
  uint32_t version() {
    const auto version = get<uint32_t>();
    if (version != kRoundProtocolVersion)
      throw CommError(fmt::format("{} version {}, this rank speaks {}: all ranks must run the same mtdnn-train", what_,
                                  version, kRoundProtocolVersion));
    return version;
  }
  void finish() const {
    if (pos_ != bytes_.size()) throw CommError(fmt::format("{}: {} unexpected trailing bytes", what_, bytes_.size() - pos_));
  }

 private:
  const std::string& bytes_;
  const char* what_;
  size_t pos_ = 0;
};

}  // namespace

std::string hex64(uint64_t value) { return fmt::format("{:#018x}", value); }

std::string encode(const EpochMessage& m) {
  return Writer().put<uint32_t>(m.version).put<int64_t>(m.epoch).put<uint64_t>(m.seed).str();
}

std::string encode(const RoundPlan& p) {
  uint8_t flags = (p.log ? 1 : 0) | (p.eval ? 2 : 0) | (p.stop ? 4 : 0) | (p.checkpoint ? 8 : 0);
  return Writer()
      .put<uint32_t>(p.version)
      .put<int64_t>(p.step)
      .put<int64_t>(p.epoch)
      .put<int64_t>(p.index)
      .put<int32_t>(p.task)
      .put<uint8_t>(flags)
      .str();
}

namespace {

// A message of `what`: the version, then `fields` reads the rest, then nothing may be left.
template <typename Message, typename Fields>
Message decode_message(const std::string& bytes, const char* what, Fields&& fields) {
  Reader r(bytes, what);
  Message m;
  m.version = r.version();
  fields(r, m);
  r.finish();
  return m;
}

}  // namespace

EpochMessage decode_epoch_message(const std::string& bytes) {
  return decode_message<EpochMessage>(bytes, "epoch message", [](Reader& r, EpochMessage& m) {
    m.epoch = r.get<int64_t>();
    m.seed = r.get<uint64_t>();
  });
}

RoundPlan decode_round_plan(const std::string& bytes) {
  return decode_message<RoundPlan>(bytes, "round plan", [](Reader& r, RoundPlan& p) {
    p.step = r.get<int64_t>();
    p.epoch = r.get<int64_t>();
    p.index = r.get<int64_t>();
    p.task = r.get<int32_t>();
    const auto flags = r.get<uint8_t>();
    p.log = flags & 1;
    p.eval = flags & 2;
    p.stop = flags & 4;
    p.checkpoint = flags & 8;
  });
}

const std::vector<RoundStatsField> kRoundStatsFields = {
    {"loss_sum", Reduction::kSum, &RoundStats::loss_sum},
    {"items", Reduction::kSum, &RoundStats::items},
    {"examples", Reduction::kSum, &RoundStats::examples},
    {"real_tokens", Reduction::kSum, &RoundStats::real_tokens},
    {"nonfinite", Reduction::kMax, &RoundStats::nonfinite},
    {"stop_signal", Reduction::kMax, &RoundStats::stop_signal},
    {"grad_norm", Reduction::kMax, &RoundStats::grad_norm},
    {"compute_s", Reduction::kMax, &RoundStats::compute_s},
};

namespace {
size_t summed_fields() {
  return static_cast<size_t>(std::count_if(kRoundStatsFields.begin(), kRoundStatsFields.end(),
                                           [](const RoundStatsField& f) { return f.reduction == Reduction::kSum; }));
}
}  // namespace

std::vector<double> encode(const RoundStats& s) {
  std::vector<double> wire;
  for (const auto& f : kRoundStatsFields) {
    MTDNN_CHECK(f.reduction == Reduction::kSum || wire.size() >= summed_fields(),
                "round stats field {} is listed before a summed field", f.name);
    wire.push_back(s.*f.member);
  }
  wire.push_back(static_cast<double>(kRoundProtocolVersion));
  wire.push_back(-static_cast<double>(kRoundProtocolVersion));
  return wire;
}

RoundStats decode_round_stats(const std::vector<double>& wire) {
  if (wire.size() != kRoundStatsFields.size() + 2)
    throw CommError(fmt::format("round stats: {} values, this rank expects {}", wire.size(),
                                kRoundStatsFields.size() + 2));
  const double highest = wire[wire.size() - 2], lowest = -wire.back();
  if (highest != kRoundProtocolVersion || lowest != kRoundProtocolVersion)
    throw CommError(fmt::format("round stats: ranks speak protocol versions {} to {}, this rank speaks {}: all ranks "
                                "must run the same mtdnn-train", lowest, highest, kRoundProtocolVersion));
  RoundStats s;
  for (size_t i = 0; i < kRoundStatsFields.size(); ++i) s.*kRoundStatsFields[i].member = wire[i];
  return s;
}

const char* to_string(Collective c) {
  switch (c) {
    case Collective::kAgreement: return "agreement";
    case Collective::kBroadcast: return "broadcast";
    case Collective::kAllreduce: return "allreduce";
    case Collective::kAllgather: return "allgather";
    case Collective::kBarrier: return "barrier";
  }
  return "?";
}

const std::vector<StepCollectives> kStepCollectives = {
    {"S1", {Collective::kAgreement}, "start: the resolved configuration, then device and precision"},
    {"S2", {Collective::kAgreement}, "start: the initial weights checksum"},
    {"S3", {Collective::kBroadcast}, "start: the checkpoint path, empty for a fresh start"},
    {"S4", {Collective::kAgreement}, "resume: the restored state checksum"},
    {"E1", {Collective::kBroadcast}, "each epoch: EpochMessage"},
    {"E2", {Collective::kAgreement}, "each epoch: the schedule hash"},
    {"R1", {Collective::kBroadcast}, "each round: RoundPlan"},
    {"R3", {Collective::kAllreduce}, "each round of a task with a per-target loss: target counts"},
    {"R4", {Collective::kAllreduce}, "each round: RoundStats"},
    {"R6", {Collective::kAllgather}, "plan.eval and F2: once per evaluated split"},
    {"C1", {Collective::kAllgather}, "plan.checkpoint and F1: generator states (a GPU adds one)"},
    {"F3", {Collective::kBarrier}, "end: after the model folder"},
};

const StepCollectives& step_collectives(const std::string& step) {
  for (const auto& s : kStepCollectives)
    if (step == s.step) return s;
  throw CommError(fmt::format("round protocol: no step {}", step));
}

void RoundProtocol::agree_config(const std::string& config_json) {
  plane_.begin_step("S1");
  plane_.check_agreement("resolved config", config_json);
}

void RoundProtocol::agree_execution(const std::string& device_and_precision) {
  plane_.begin_step("S1");
  plane_.check_agreement("device and precision", device_and_precision);
}

void RoundProtocol::agree_initial_weights(uint64_t checksum) {
  plane_.begin_step("S2");
  plane_.check_agreement("initial weights checksum", hex64(checksum));
}

std::string RoundProtocol::choose_checkpoint(const std::string& rank0_choice) {
  plane_.begin_step("S3");
  std::string path = plane_.rank() == 0 ? rank0_choice : "";
  plane_.broadcast(&path, 0);
  return path;
}

void RoundProtocol::agree_restored_state(const std::string& checkpoint, uint64_t checksum) {
  plane_.begin_step("S4");
  plane_.check_agreement(fmt::format("restored state checksum (checkpoint {})", checkpoint), hex64(checksum));
}

uint64_t RoundProtocol::start_epoch(int64_t epoch, uint64_t seed) {
  plane_.begin_step("E1");
  std::string bytes = plane_.rank() == 0 ? encode(EpochMessage{kRoundProtocolVersion, epoch, seed}) : "";
  plane_.broadcast(&bytes, 0);
  EpochMessage m = decode_epoch_message(bytes);
  if (m.epoch != epoch)
    throw CommError(fmt::format("rank {}: rank 0 starts epoch {}, this rank expected epoch {}", plane_.rank(), m.epoch,
                                epoch));
  return m.seed;
}

void RoundProtocol::verify_schedule(int64_t epoch, size_t steps, uint64_t hash) {
  plane_.begin_step("E2");
  plane_.check_agreement(fmt::format("epoch {} schedule hash ({} steps)", epoch, steps), hex64(hash));
}

RoundPlan RoundProtocol::exchange_plan(const RoundPlan& mine) {
  plane_.begin_step("R1");
  std::string bytes = plane_.rank() == 0 ? encode(mine) : "";
  plane_.broadcast(&bytes, 0);
  RoundPlan plan = decode_round_plan(bytes);
  if (plan.stop) return plan;  // the position no longer matters
  if (plan.step != mine.step || plan.epoch != mine.epoch || plan.index != mine.index || plan.task != mine.task)
    throw CommError(fmt::format(
        "rank {}: round plan disagrees: rank 0 sent step {} (epoch {}, entry {}, task {}), this rank is at step {} "
        "(epoch {}, entry {}, task {})",
        plane_.rank(), plan.step, plan.epoch, plan.index, plan.task, mine.step, mine.epoch, mine.index, mine.task));
  return plan;
}

std::vector<double> RoundProtocol::sum_target_counts(std::vector<double> mine) {
  plane_.begin_step("R3");
  plane_.allreduce(&mine, mine.size());
  return mine;
}

RoundStats RoundProtocol::reduce_stats(const RoundStats& mine) {
  plane_.begin_step("R4");
  std::vector<double> wire = encode(mine);
  plane_.allreduce(&wire, summed_fields());
  return decode_round_stats(wire);
}

std::vector<std::string> RoundProtocol::gather_predictions(const std::string& mine) {
  plane_.begin_step("R6");
  return plane_.allgather(mine);
}

RoundProtocol::GeneratorStates RoundProtocol::gather_generator_states(const std::string& mine_cpu,
                                                                      const std::string* mine_cuda) {
  plane_.begin_step("C1");
  GeneratorStates states;
  states.cpu = plane_.allgather(mine_cpu);
  if (mine_cuda) states.cuda = plane_.allgather(*mine_cuda);
  return states;
}

void RoundProtocol::finish() {
  plane_.begin_step("F3");
  plane_.barrier();
}

}  // namespace mtdnn::comm
