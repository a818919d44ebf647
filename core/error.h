// The one exception type of cardsim. Every user-facing failure is an Error whose message
// names the file, node, field or offset and says what was expected; the CLI prints it and
// exits with the kind's code.
#pragma once
#include <stdexcept>
#include <string>
#include <fmt/format.h>

namespace cardsim {

enum class ErrorKind {
  Usage,        // bad command line
  Config,       // invalid card configuration
  Format,       // malformed file (loadable, ONNX, TensorProto, assembly, trace)
  Unsupported,  // valid input we cannot handle (operator, shape, precision)
  Capacity,     // program does not fit the card
  Fault,        // runtime fault in the card model (access violation, deadlock)
  Io,           // file system
  Internal,     // a bug in cardsim
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& msg) : std::runtime_error(msg), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, fmt::format_string<Args...> f, Args&&... args) {
  throw Error(kind, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace cardsim
