// run_program_forked: one SystemC elaboration per child process; the result comes back as
// CBOR through a pipe (outputs as raw bytes, statistics as JSON).
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "models/card/card.h"

namespace cardsim::card {

namespace {

void write_all(int fd, const std::vector<uint8_t>& bytes) {
  const uint64_t n = bytes.size();
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&n);
  std::vector<uint8_t> buf(p, p + 8);
  buf.insert(buf.end(), bytes.begin(), bytes.end());
  size_t off = 0;
  while (off < buf.size()) {
    ssize_t w = ::write(fd, buf.data() + off, buf.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += size_t(w);
  }
}

std::vector<uint8_t> read_all(int fd) {
  std::vector<uint8_t> buf;
  uint8_t tmp[65536];
  while (true) {
    ssize_t r = ::read(fd, tmp, sizeof tmp);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    buf.insert(buf.end(), tmp, tmp + r);
  }
  return buf;
}

}  // namespace

RunResult run_program_forked(const isa::Program& prog, const CardConfig& cfg, const std::vector<Tensor>& inputs,
                             const RunOptions& opt) {
  if (opt.observer) fail(ErrorKind::Usage, "run_program_forked: an observer cannot cross the fork");
  int fds[2];
  if (::pipe(fds) != 0) fail(ErrorKind::Internal, "run_program_forked: pipe failed: {}", std::strerror(errno));
  ::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) fail(ErrorKind::Internal, "run_program_forked: fork failed: {}", std::strerror(errno));
  if (pid == 0) {
    ::close(fds[0]);
    nlohmann::json j;
    try {
      RunResult r = run_program(prog, cfg, inputs, opt);
      j["complete"] = r.complete;
      j["error"] = r.error;
      j["stats"] = r.stats.to_json();
      nlohmann::json outs = nlohmann::json::array();
      for (const auto& t : r.outputs)
        outs.push_back({{"dtype", int(t.dtype)}, {"shape", t.shape}, {"data", nlohmann::json::binary(t.data)}});
      j["outputs"] = outs;
    } catch (const Error& e) {
      j = {{"exception", e.what()}, {"kind", int(e.kind())}};
    } catch (const std::exception& e) {
      j = {{"exception", e.what()}, {"kind", int(ErrorKind::Internal)}};
    }
    write_all(fds[1], nlohmann::json::to_cbor(j));
    ::close(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::vector<uint8_t> buf = read_all(fds[0]);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (buf.size() < 8)
    fail(ErrorKind::Internal, "run_program_forked: the child died without a result (wait status {})", status);
  uint64_t n;
  std::memcpy(&n, buf.data(), 8);
  if (n != buf.size() - 8) fail(ErrorKind::Internal, "run_program_forked: truncated result from the child");
  nlohmann::json j = nlohmann::json::from_cbor(buf.begin() + 8, buf.end());
  if (j.contains("exception")) throw Error(ErrorKind(j["kind"].get<int>()), j["exception"].get<std::string>());
  RunResult r;
  r.complete = j["complete"].get<bool>();
  r.error = j["error"].get<std::string>();
  r.stats = RunStats::from_json(j["stats"]);
  for (const auto& o : j["outputs"]) {
    Tensor t(DType(o["dtype"].get<int>()), o["shape"].get<Shape>());
    t.data = o["data"].get_binary();
    r.outputs.push_back(std::move(t));
  }
  return r;
}

}  // namespace cardsim::card
