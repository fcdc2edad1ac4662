// GradReducer: bucket layout, gradient hooks and in-order launches (see grad_reducer.h).
#include "worker/grad_reducer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>

#include "worker/cpu_kernels.h"
#include "worker/parallel_chunks.h"

namespace mtdnn::worker {

struct GradReducer::Impl {
  struct Slot {
    torch::Tensor param;
    size_t bucket;
    int64_t offset;  // in elements, within the bucket
    bool reported = false;
  };
  struct Bucket {
    size_t group;
    torch::Tensor flat;  // (numel,) float32, same device as its parameters
    std::vector<size_t> slots;
    size_t pending = 0;
    bool launched = false;
    std::unique_ptr<comm::GradWork> work;
  };

  comm::GradComm* comm;
  int world;
  std::vector<std::string> group_names;
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;  // in launch order
  std::vector<bool> group_active;
  bool reducing = false;
  size_t next_launch = 0;
  // The row-sparse parameter (see grad_reducer.h), when there is one.
  struct RowSparse {
    torch::Tensor param;
    size_t group = 0;
    bool reported = false;   // backward produced its gradient this step
    torch::Tensor row_mask;  // (rows,) float32: 1 where this rank looked up, then the sum
    bool rows_noted = false;
  };
  std::optional<RowSparse> sparse;
  // The row-sparse parameter's reduced rows (or whole gradient) of this step, for the norm.
  torch::Tensor sparse_reduced;
  std::mutex mutex;  // hooks may run on autograd worker threads (GPU)
  // The hooks this reducer registered, removed with it: the parameters outlive the reducer
  // and a hook left behind would call into freed memory on the next backward.
  std::vector<std::pair<torch::Tensor, unsigned>> hooks;

  void on_grad(size_t slot_index, const torch::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mutex);
    Slot& s = slots[slot_index];
    Bucket& b = buckets[s.bucket];
    if (!reducing || !group_active[b.group]) return;
    MTDNN_CHECK(!s.reported, "gradient of a parameter reported twice in one step");
    torch::NoGradGuard no_grad;
    auto view = b.flat.narrow(0, s.offset, s.param.numel()).view_as(s.param);
    // The hook sees this backward's gradient before it is added to .grad: add what earlier
    // micro-steps accumulated there.
    if (s.param.grad().defined())
      torch::add_out(view, grad, s.param.grad());
    else
      view.copy_(grad);
    view.mul_(1.0 / world);
    s.reported = true;
    if (--b.pending == 0) launch_ready();
  }

  // Only notes that the gradient came: finish() reads it from .grad, where AccumulateGrad
  // has summed it with earlier micro-steps' (no copy of the whole matrix).
  void on_sparse_grad() {
    std::lock_guard<std::mutex> lock(mutex);
    if (!reducing || !group_active[sparse->group]) return;
    MTDNN_CHECK(!sparse->reported, "gradient of a parameter reported twice in one step");
    sparse->reported = true;
  }

  // Sums the row-sparse parameter's gradient over ranks into its .grad (after the buckets
  // were launched, so that every rank starts the same reductions in the same order).
  void reduce_sparse(ReducerStats& stats) {
    RowSparse& r = *sparse;
    torch::NoGradGuard no_grad;
    // A rank whose backward gave no gradient still takes part, with zeros.
    const bool have = r.reported && r.param.grad().defined();
    torch::Tensor local = have ? r.param.grad() : torch::zeros_like(r.param);
    torch::Tensor rows, reduced;
    if (r.rows_noted) {
      comm->allreduce_sum(r.row_mask)->wait();
      rows = r.row_mask.nonzero().squeeze(1);
      reduced = local.index_select(0, rows).mul_(1.0 / world);
      stats.bytes += r.row_mask.numel() * static_cast<int64_t>(sizeof(float));
    } else {
      reduced = local.mul(1.0 / world);
    }
    comm->allreduce_sum(reduced)->wait();
    stats.bytes += reduced.numel() * static_cast<int64_t>(sizeof(float));
    stats.buckets += r.rows_noted ? 2 : 1;
    if (!have) return;
    sparse_reduced = reduced;  // its other rows are zero: these rows carry all of its norm
    if (r.rows_noted)
      // Every other row is zero here and on every rank: no rank looked it up.
      r.param.mutable_grad().index_copy_(0, rows, reduced);
    else
      r.param.mutable_grad() = reduced;
  }

  // Launches every leading bucket whose gradients are complete, in bucket order.
  void launch_ready() {
    while (next_launch < buckets.size()) {
      Bucket& b = buckets[next_launch];
      if (!group_active[b.group]) {
        ++next_launch;
        continue;
      }
      if (b.pending > 0) return;
      b.work = comm->allreduce_sum(b.flat);
      b.launched = true;
      ++next_launch;
    }
  }
};

GradReducer::GradReducer(std::vector<ParamGroup> groups, comm::GradComm* comm, int world_size, torch::Tensor row_sparse,
                         size_t bucket_bytes, size_t first_bucket_bytes)
    : impl_(std::make_unique<Impl>()) {
  impl_->comm = comm;
  impl_->world = world_size;
  if (row_sparse.defined() && row_sparse.requires_grad()) {  // a frozen one needs no reduction
    MTDNN_CHECK(row_sparse.dim() == 2 && row_sparse.scalar_type() == torch::kFloat,
                "the row-sparse parameter must be a float32 matrix");
    impl_->sparse.emplace();
    impl_->sparse->param = row_sparse;
    impl_->sparse->row_mask = torch::zeros({row_sparse.size(0)}, row_sparse.options());
  }
  // Backward produces the last-registered parameters first: heads (registered after the
  // encoder) before the encoder, each group from its end. Buckets follow that order.
  for (size_t gi = groups.size(); gi-- > 0;) {
    const ParamGroup& g = groups[gi];
    impl_->group_names.push_back(g.name);
    size_t group = impl_->group_names.size() - 1;
    size_t cap = impl_->buckets.empty() ? first_bucket_bytes : bucket_bytes;
    std::vector<size_t> members;
    int64_t elements = 0;
    auto close = [&] {
      if (members.empty()) return;
      Impl::Bucket b;
      b.group = group;
      b.flat = torch::zeros({elements}, members.empty() ? torch::TensorOptions()
                                                        : impl_->slots[members[0]].param.options().dtype(torch::kFloat));
      b.slots = members;
      for (size_t s : members) impl_->slots[s].bucket = impl_->buckets.size();
      impl_->buckets.push_back(std::move(b));
      members.clear();
      elements = 0;
      cap = bucket_bytes;
    };
    for (size_t pi = g.params.size(); pi-- > 0;) {
      const torch::Tensor& p = g.params[pi];
      if (!p.requires_grad()) continue;
      if (impl_->sparse && p.is_same(impl_->sparse->param)) {
        impl_->sparse->group = group;
        continue;
      }
      MTDNN_CHECK(p.scalar_type() == torch::kFloat, "gradient buckets hold float32 parameters");
      impl_->slots.push_back({p, 0, elements, false});
      members.push_back(impl_->slots.size() - 1);
      elements += p.numel();
      if (static_cast<size_t>(elements) * sizeof(float) >= cap) close();
    }
    close();
  }
  impl_->group_active.assign(impl_->group_names.size(), false);
  if (impl_->sparse) {
    bool found = false;
    for (const auto& g : groups)
      for (const auto& p : g.params) found = found || p.is_same(impl_->sparse->param);
    MTDNN_CHECK(found, "the row-sparse parameter is in no parameter group");
  }
  if (comm != nullptr) {
    Impl* impl = impl_.get();
    if (impl->sparse) {
      const torch::Tensor& p = impl->sparse->param;
      impl->hooks.emplace_back(p, p.register_hook([impl](const torch::Tensor&) { impl->on_sparse_grad(); }));
    }
    for (size_t i = 0; i < impl->slots.size(); ++i) {
      const torch::Tensor& p = impl->slots[i].param;
      impl->hooks.emplace_back(p, p.register_hook([impl, i](const torch::Tensor& grad) { impl->on_grad(i, grad); }));
    }
  }
}

GradReducer::~GradReducer() {
  for (const auto& [param, hook] : impl_->hooks) param.remove_hook(hook);
}

size_t GradReducer::num_buckets() const { return impl_->buckets.size(); }

void GradReducer::prepare(const std::vector<std::string>& active, bool reduce) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  for (size_t g = 0; g < impl_->group_names.size(); ++g)
    impl_->group_active[g] =
        std::find(active.begin(), active.end(), impl_->group_names[g]) != active.end();
  for (const auto& name : active)
    MTDNN_CHECK(std::find(impl_->group_names.begin(), impl_->group_names.end(), name) != impl_->group_names.end(),
                "unknown parameter group '{}'", name);
  impl_->reducing = reduce && impl_->comm != nullptr;
  grad_norm_.reset();
  impl_->next_launch = 0;
  for (auto& s : impl_->slots) s.reported = false;
  if (impl_->sparse) impl_->sparse->reported = false;
  for (auto& b : impl_->buckets) {
    b.pending = b.slots.size();
    b.launched = false;
    b.work.reset();
  }
}

void GradReducer::finish() {
  Impl& m = *impl_;
  if (!m.reducing) return;
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    // Parameters of an active group that got no gradient (a head that skips the pooler, say):
    // their slots stay zero so that the bucket can still be reduced.
    for (auto& b : m.buckets) {
      if (!m.group_active[b.group] || b.launched) continue;
      for (size_t s : b.slots)
        if (!m.slots[s].reported)
          b.flat.narrow(0, m.slots[s].offset, m.slots[s].param.numel()).zero_();
      b.pending = 0;
    }
    m.launch_ready();
  }
  auto start = std::chrono::steady_clock::now();
  if (m.sparse && m.group_active[m.sparse->group]) m.reduce_sparse(stats_);
  for (auto& b : m.buckets)
    if (b.work) b.work->wait();
  stats_.exposed_wait_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  torch::NoGradGuard no_grad;
  // The averaged gradients go to each parameter's .grad in one parallel pass over fixed
  // chunks, which also sums their squares: the gradient norm without a second read.
  struct Pass {
    const float* from;
    float* to;  // nullptr: only read (a gradient already in place)
  };
  std::vector<Pass> passes;
  std::vector<int64_t> numels;
  std::vector<torch::Tensor> keep;  // contiguous copies the pass reads
  // Buckets live on the parameters' device; on a GPU the gradients are copied with tensor
  // operations and the optimizer takes the norm.
  const bool cpu = m.buckets.empty() || m.buckets.front().flat.is_cpu();
  auto read_only = [&](const torch::Tensor& t) {
    keep.push_back(t.contiguous());
    passes.push_back({keep.back().data_ptr<float>(), nullptr});
    numels.push_back(t.numel());
  };
  for (auto& b : m.buckets) {
    if (!b.launched) continue;
    ++stats_.buckets;
    stats_.bytes += b.flat.numel() * static_cast<int64_t>(sizeof(float));
    for (size_t si : b.slots) {
      Impl::Slot& s = m.slots[si];
      torch::Tensor& grad = s.param.mutable_grad();
      if (!s.reported) {  // no gradient this micro-step: one kept from an earlier one counts too
        if (grad.defined() && cpu) read_only(grad);
        continue;
      }
      auto reduced = b.flat.narrow(0, s.offset, s.param.numel()).view_as(s.param);
      // AccumulateGrad has added this backward's gradient to .grad after the hook ran:
      // replace the local sum by the global average.
      if (!grad.defined()) grad = torch::empty_like(s.param, torch::MemoryFormat::Contiguous);
      if (cpu && grad.is_contiguous()) {
        passes.push_back({reduced.data_ptr<float>(), grad.data_ptr<float>()});
        numels.push_back(s.param.numel());
      } else {
        grad.copy_(reduced);
        if (cpu) read_only(grad);
      }
    }
  }
  if (m.sparse_reduced.defined() && cpu) read_only(m.sparse_reduced);
  m.sparse_reduced = torch::Tensor();
  const std::vector<Chunk> chunks = chunks_of(numels);
  std::vector<double> partial(chunks.size(), 0.0);
  for_each_chunk(chunks, [&](size_t c, const Chunk& k) {
    const Pass& p = passes[k.tensor];
    partial[c] = p.to ? kernels::copy_sum_squares(p.from + k.begin, p.to + k.begin, k.size)
                      : kernels::sum_squares(p.from + k.begin, k.size);
  });
  grad_norm_ = cpu ? std::optional<double>(std::sqrt(sum_in_order(partial))) : std::nullopt;
  m.reducing = false;
  if (m.sparse) {
    m.sparse->reported = false;
    m.sparse->row_mask.zero_();
    m.sparse->rows_noted = false;
  }
}

void GradReducer::note_rows(const torch::Tensor& ids) {
  if (!impl_->sparse || impl_->comm == nullptr) return;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  auto& r = *impl_->sparse;
  if (ids.numel() > 0) r.row_mask.index_fill_(0, ids.reshape(-1).to(r.row_mask.device(), torch::kLong), 1.0f);
  r.rows_noted = true;
}

}  // namespace mtdnn::worker
