// Thread pool: one job at a time, chunks claimed from an atomic counter by the workers
// and the calling thread together, so a small job never waits for a sleeping worker.
// Workers spin a little before they sleep, and so does the caller before it waits for them:
// waking a thread through the kernel took 30-60 us on a 2-core VM, so a job of two 50 us
// chunks took 119 us, longer than running both chunks on one thread (OpenMP runtimes spin
// for the same reason).
#include "runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "ir/diag.h"
#include "ir/settings.h"
#include "runtime/profile.h"

namespace kiln::runtime {
namespace {

thread_local bool t_in_parallel = false;

// How long a worker looks for the next job, and the caller for the job's end, before
// blocking: long enough to bridge the gaps between a program's parallel steps
// (KILN_SPIN_US, ir/settings.h; 0 where other busy processes share the cores).
std::chrono::microseconds spin_time() {
  static const std::chrono::microseconds spin(env_spin_us(200));
  return spin;
}

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// True as soon as done() is, false once kSpin has passed without it.
template <class Done>
bool spin_until(const Done &done) {
  if (spin_time().count() == 0) return done();
  const auto deadline = std::chrono::steady_clock::now() + spin_time();
  for (uint32_t i = 0;; ++i) {
    if (done()) return true;
    cpu_relax();
    if (i % 64 == 63 && std::chrono::steady_clock::now() > deadline) return false;
  }
}

int default_threads() {
  if (int n = env_num_threads(); n >= 1) return n;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

class Pool {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Starts n - 1 workers. When the system refuses a thread (a process or memory limit), the
  // pool keeps the ones it has and says so: a smaller pool is slower, never wrong.
  void resize(int n) {
    stop();
    stopping_ = false;
    (void)spin_time();  // KILN_SPIN_US is read (and a bad value said) when the pool starts
    try {
      for (int i = 1; i < n; ++i) workers_.emplace_back([this] { work(); });
    } catch (const std::system_error &e) {
      warn(fmt::format("thread pool: started {} of {} threads: {}", size(), n, e.what()));
    }
  }

  // `profile_label`, when profiling, names the step the job belongs to; it lives until the
  // job is done, as `body` does.
  void run(int64_t chunks, const std::function<void(int64_t)> &body,
           const std::string *profile_label) {
    std::lock_guard job_lock(job_mutex_);  // one job at a time
    uint64_t generation;
    {
      std::lock_guard lock(mutex_);
      body_ = &body;
      profile_label_ = profile_label;
      chunks_ = chunks;
      pending_.store(chunks);
      error_ = nullptr;
      generation = ++generation_;
      next_.store(tag(generation));
      published_.store(generation);
    }
    wake_.notify_all();
    take_chunks(generation);
    const auto finished = [&] { return pending_.load() == 0; };
    (void)spin_until(finished);
    std::unique_lock lock(mutex_);  // body_ and error_ are the mutex's
    done_.wait(lock, finished);
    body_ = nullptr;
    profile_label_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_.store(true);
    }
    wake_.notify_all();
    for (auto &t : workers_) t.join();
    workers_.clear();
  }

  void work() {
    t_in_parallel = true;
    uint64_t seen = 0;
    for (;;) {
      const auto ready = [&] { return stopping_.load() || published_.load() != seen; };
      if (!spin_until(ready)) {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, ready);
      }
      if (stopping_.load()) return;
      seen = published_.load();
      take_chunks(seen);
    }
  }

  // `next_` holds the job's generation (high bits) and its next chunk (low bits), so a
  // worker still finishing one job can never claim a chunk of the next: its claim must name
  // the generation it saw. (A plain counter, reset per job, let a late worker's claim on
  // the old job's exhausted counter land in the new job: a chunk run twice, and a job's
  // count could drop past zero, so its caller waited forever; kiln-bench hung so at 2
  // threads.)
  static constexpr int kChunkBits = 40;
  static uint64_t tag(uint64_t generation) { return generation << kChunkBits; }

  void take_chunks(uint64_t generation) {
    const std::function<void(int64_t)> *body;
    const std::string *job_label;
    int64_t chunks;
    {
      std::lock_guard lock(mutex_);
      if (generation_ != generation) return;  // that job is over
      body = body_;
      job_label = profile_label_;
      chunks = chunks_;
    }
    bool was_parallel = t_in_parallel;
    t_in_parallel = true;
    const std::string *label = nullptr;
    int64_t begin_ns = 0;
    int64_t finished = 0;
    constexpr uint64_t kGenerationMask = ~uint64_t{0} >> kChunkBits;
    constexpr uint64_t kChunkMask = (uint64_t{1} << kChunkBits) - 1;
    uint64_t v = next_.load();
    for (;;) {
      if ((v >> kChunkBits) != (generation & kGenerationMask)) break;
      const auto i = static_cast<int64_t>(v & kChunkMask);
      if (i >= chunks) break;
      if (!next_.compare_exchange_weak(v, v + 1)) continue;  // v reloaded: try again
      // Claimed: the job is live until this chunk is counted, so its body and label are.
      if (finished == 0 && job_label != nullptr) {
        label = job_label;
        begin_ns = profile::now_ns();
      }
      try {
        (*body)(i);
      } catch (...) {
        std::lock_guard lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      ++finished;
      v = next_.load();
    }
    t_in_parallel = was_parallel;
    if (finished == 0) return;
    if (label != nullptr) profile::record_thread_span(*label, begin_ns, profile::now_ns());
    if (pending_.fetch_sub(finished) == finished) {
      // Locked, so a caller between its check and its wait cannot miss the notification.
      std::lock_guard lock(mutex_);
      done_.notify_all();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex job_mutex_, mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t)> *body_ = nullptr;
  const std::string *profile_label_ = nullptr;  // the job's step, when profiling
  int64_t chunks_ = 0;
  std::atomic<int64_t> pending_{0};  // chunks of the job not yet finished
  std::atomic<uint64_t> next_{0};    // tag(generation) + the next chunk to claim
  uint64_t generation_ = 0;
  std::atomic<uint64_t> published_{0};  // generation_, for workers spinning without the mutex
  std::atomic<bool> stopping_{false};
  std::exception_ptr error_;
};

Pool &pool() {
  static Pool *p = new Pool(default_threads());  // workers live until exit
  return *p;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
  if (n < 1) fail("set_num_threads: thread count must be at least 1, got {}", n);
  if (n > kMaxThreads)
    fail("set_num_threads: thread count must be at most {}, got {}", kMaxThreads, n);
  if (t_in_parallel) fail("set_num_threads: cannot resize the pool from inside a parallel region");
  if (n != pool().size()) pool().resize(n);
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> &fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int threads = t_in_parallel ? 1 : num_threads();
  int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, threads * 4);
  if (threads == 1 || chunks <= 1) {
    fn(0, n);
    return;
  }
  int64_t step = (n + chunks - 1) / chunks;
  chunks = (n + step - 1) / step;
  const bool profiling = profile::on();
  const std::string label = profiling ? profile::current_step() : std::string();
  pool().run(
      chunks, [&](int64_t c) { fn(c * step, std::min(n, (c + 1) * step)); },
      profiling ? &label : nullptr);
}

}  // namespace kiln::runtime
