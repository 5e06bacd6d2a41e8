// ClusterId: the identifier of a registered cluster.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/uuid/uuid.hpp>

namespace clusteraccess {

/// A cluster id in the Kubernetes `k8s-uuid` form (as apimachinery validates
/// it): exactly 36 characters, lowercase hexadecimal digits `0-9a-f`, and `-`
/// at offsets 8, 13, 18 and 23. The version and variant bits are not checked.
/// Everything else -- uppercase, braces, `urn:uuid:`, 32 bare digits,
/// whitespace, NUL, non-ASCII -- is rejected.
///
/// Held as a Boost.Uuid value (16 bytes); `str()` gives the canonical text.
class ClusterId {
 public:
  /// Parses `text`; throws `Error` 400 (parameter `clusterid`) when it is not
  /// a `k8s-uuid`.
  static ClusterId parse(std::string_view text);
  /// Parses `text`; returns nothing when it is not a `k8s-uuid`.
  static std::optional<ClusterId> try_parse(std::string_view text) noexcept;
  /// A new random (version 4) id, as Kubernetes makes them.
  static ClusterId generate();
  /// The id whose binary form is `bytes` (as stored).
  static ClusterId from_bytes(const std::array<std::uint8_t, 16>& bytes) noexcept;

  /// The canonical 36-character lowercase form.
  std::string str() const;
  /// The binary form (16 bytes, network order).
  std::array<std::uint8_t, 16> bytes() const noexcept;
  const boost::uuids::uuid& uuid() const noexcept { return uuid_; }

  friend bool operator==(const ClusterId& a, const ClusterId& b) noexcept { return a.uuid_ == b.uuid_; }
  friend bool operator!=(const ClusterId& a, const ClusterId& b) noexcept { return a.uuid_ != b.uuid_; }
  friend bool operator<(const ClusterId& a, const ClusterId& b) noexcept { return a.uuid_ < b.uuid_; }

 private:
  explicit ClusterId(const boost::uuids::uuid& uuid) noexcept : uuid_(uuid) {}
  boost::uuids::uuid uuid_;
};

/// True when `text` is a valid `k8s-uuid` cluster id.
bool is_valid_cluster_id(std::string_view text) noexcept;

}  // namespace clusteraccess
