// A control plane that hands every call on to another one and records it under the round
// protocol step RoundProtocol named last (ControlPlane::begin_step): the sequence of
// collectives one rank issued, to hold against comm::kStepCollectives and other ranks'.
#pragma once

#include <string>
#include <vector>

#include "comm/round_protocol.h"

namespace mtdnn::test {

class RecordingPlane : public comm::ControlPlane {
 public:
  struct Call {
    std::string step;  // "" before RoundProtocol named any
    comm::Collective collective;
    bool operator==(const Call& o) const { return step == o.step && collective == o.collective; }
  };

  explicit RecordingPlane(comm::ControlPlane& inner) : inner_(inner) {}

  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  int local_size() const override { return inner_.local_size(); }
  int local_rank() const override { return inner_.local_rank(); }
  void broadcast(std::string* bytes, int root) override {
    record(comm::Collective::kBroadcast);
    inner_.broadcast(bytes, root);
  }
  void check_agreement(const std::string& what, const std::string& value) override {
    record(comm::Collective::kAgreement);
    inner_.check_agreement(what, value);
  }
  void allreduce(std::vector<double>* values, size_t sum_count) override {
    record(comm::Collective::kAllreduce);
    inner_.allreduce(values, sum_count);
  }
  std::vector<std::string> allgather(const std::string& bytes) override {
    record(comm::Collective::kAllgather);
    return inner_.allgather(bytes);
  }
  void barrier() override {
    record(comm::Collective::kBarrier);
    inner_.barrier();
  }
  const comm::MpiContext* mpi() const override { return inner_.mpi(); }
  void begin_step(const char* step) override { step_ = step; }

  const std::vector<Call>& calls() const { return calls_; }
  void clear() { calls_.clear(); }

 private:
  void record(comm::Collective c) { calls_.push_back({step_, c}); }

  comm::ControlPlane& inner_;
  std::string step_;
  std::vector<Call> calls_;
};

// The calls the steps `steps` issue by the table: each step's collectives in table order.
inline std::vector<RecordingPlane::Call> calls_of(const std::vector<std::string>& steps) {
  std::vector<RecordingPlane::Call> out;
  for (const auto& s : steps)
    for (comm::Collective c : comm::step_collectives(s).collectives) out.push_back({s, c});
  return out;
}

// One call a line, "R4 allreduce", numbered from 0.
inline std::string transcript(const std::vector<RecordingPlane::Call>& calls) {
  std::string out;
  for (size_t i = 0; i < calls.size(); ++i)
    out += std::to_string(i) + " " + calls[i].step + " " + comm::to_string(calls[i].collective) + "\n";
  return out;
}

}  // namespace mtdnn::test
