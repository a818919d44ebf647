// The conformance driver's scope (the compiler's operator list) and the node tests of those
// operators it deliberately does not run, each with the reason. docs/CONFORMANCE.md shows
// the same table; keep them in step.
#pragma once
#include <map>
#include <set>
#include <string>

namespace cardsim::conformance {

// ONNX operators the compiler supports (on the card or through host fallback). A node test
// is in scope when every node of its model uses one of these.
const std::set<std::string>& compiler_ops();

// Test name -> why it is not run, for the given compile precision ("fp32", "fp16", "bf16").
const std::map<std::string, std::string>& skip_reasons(const std::string& precision);

}  // namespace cardsim::conformance
