#include <chrono>

#include <fmt/format.h>

#include "traces/writers.h"

namespace cardsim::traces {

namespace {
double wall_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

ProgressBar::ProgressBar(double expected_ns, std::FILE* out) : expected_ns_(expected_ns), out_(out) {}

void ProgressBar::instruction(int, isa::Opcode, uint32_t, double, double end_ns, uint64_t) {
  ++instructions_;
  max_ns_ = std::max(max_ns_, end_ns);
  if ((instructions_ & 1023) == 0) draw(max_ns_, false);  // cheap check; the clock is read rarely
}

void ProgressBar::inference(int index, double, double end_ns) {
  inferences_ = index + 1;
  max_ns_ = std::max(max_ns_, end_ns);
  draw(max_ns_, false);
}

void ProgressBar::draw(double sim_ns, bool final_line) {
  const double now = wall_s();
  if (!final_line && last_draw_s_ >= 0 && now - last_draw_s_ < 0.2) return;
  last_draw_s_ = now;
  std::string bar;
  if (expected_ns_ > 0) {
    const double f = std::min(1.0, sim_ns / expected_ns_);
    const int filled = int(f * 30);
    bar = fmt::format("[{}{}] {:3.0f} % ", std::string(size_t(filled), '#'), std::string(size_t(30 - filled), '.'), f * 100);
  }
  fmt::print(out_, "\r{}simulated {:.3f} ms | {} instructions | {} inference(s) done   ", bar, sim_ns * 1e-6,
             instructions_, inferences_);
  if (final_line) fmt::print(out_, "\n");
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (drawn_) draw(max_ns_, true);
}

}  // namespace cardsim::traces
