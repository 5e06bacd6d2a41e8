// Fuzz target: the cluster-id check (rule 2, the Kubernetes k8s-uuid).
//
// Properties, for every input:
//  - is_valid_cluster_id, try_parse and parse agree, and agree with an
//    independent reference implementation of the rule;
//  - a valid id round-trips: str() == input, from_bytes(bytes()) == id, and
//    Boost's own text form is the same;
//  - an invalid id gives a 400 UCS.01000011 naming `clusterid`, with a
//    well-formed JSON body and the same message for every input.
#include <boost/uuid/uuid_io.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "clusteraccess/cluster_id.hpp"
#include "clusteraccess/error.hpp"
#include "fuzz_support.hpp"

namespace {

bool reference_is_k8s_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using clusteraccess::ClusterId;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const bool valid = clusteraccess::is_valid_cluster_id(text);
  const auto parsed = ClusterId::try_parse(text);
  FUZZ_CHECK(valid == parsed.has_value());
  FUZZ_CHECK(valid == reference_is_k8s_uuid(text));

  if (parsed) {
    FUZZ_CHECK(parsed->str() == text);
    FUZZ_CHECK(ClusterId::from_bytes(parsed->bytes()) == *parsed);
    FUZZ_CHECK(boost::uuids::to_string(parsed->uuid()) == text);
    FUZZ_CHECK(ClusterId::parse(text) == *parsed);
    return 0;
  }
  try {
    static_cast<void>(ClusterId::parse(text));
    FUZZ_CHECK(!"parse accepted what try_parse refused");
  } catch (const clusteraccess::Error& error) {
    FUZZ_CHECK(error.http_status() == 400);
    FUZZ_CHECK(error.code() == "UCS.01000011");
    FUZZ_CHECK(error.message().find("clusterid") != std::string::npos);
    FUZZ_CHECK(clusteraccess::fuzzing::is_error_body(error.to_json()));
    // One message for every invalid id: it never echoes the input.
    static const std::string expected = [] {
      try {
        static_cast<void>(ClusterId::parse("x"));
      } catch (const clusteraccess::Error& e) {
        return e.message();
      }
      return std::string();
    }();
    FUZZ_CHECK(error.message() == expected);
  }
  return 0;
}
