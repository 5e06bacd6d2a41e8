// Wiping text that holds key material, and SecretDocuments: rendered
// manifest documents that are wiped unless they are handed to the caller.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace clusteraccess {

/// Overwrites the whole buffer of `text` (its capacity, not only its size)
/// with OpenSSL's cleanse and empties it. The buffer stays allocated: the
/// bytes are gone before the allocator gets it back.
void wipe(std::string& text) noexcept;
/// Wipes every string of `texts`, then empties the vector.
void wipe(std::vector<std::string>& texts) noexcept;

/// The documents of a rendered manifest, which hold the agent's private key.
///
/// They are wiped when this object is destroyed or assigned over, unless
/// `release()` handed them on -- to an `AccessInfo`, which wipes them in its
/// turn. So the documents of a download that is not returned (a lost race,
/// an abandoned delivery, a failed commit) are wiped unseen. Movable, not
/// copyable.
class SecretDocuments {
 public:
  SecretDocuments() noexcept = default;
  ~SecretDocuments();
  SecretDocuments(SecretDocuments&& other) noexcept;
  SecretDocuments& operator=(SecretDocuments&& other) noexcept;
  SecretDocuments(const SecretDocuments&) = delete;
  SecretDocuments& operator=(const SecretDocuments&) = delete;

  /// Makes room for `count` documents, so that adding them moves no string.
  void reserve(std::size_t count) { documents_.reserve(count); }
  /// Adds `document`, taking over its buffer.
  void push_back(std::string document);
  /// The last document, to finish writing it in place (not empty).
  std::string& back() noexcept { return documents_.back(); }

  std::size_t size() const noexcept { return documents_.size(); }
  const std::string& operator[](std::size_t index) const noexcept { return documents_[index]; }
  const std::vector<std::string>& view() const noexcept { return documents_; }
  std::vector<std::string>::const_iterator begin() const noexcept { return documents_.begin(); }
  std::vector<std::string>::const_iterator end() const noexcept { return documents_.end(); }

  /// Hands the documents (their buffers, not copies) to the caller, who
  /// becomes responsible for wiping them; this object is left empty.
  std::vector<std::string> release() noexcept;

 private:
  // Wipes the documents; when there were any, passes the fault point
  // kUnreturnedDocumentsWiped (tests count it).
  void drop() noexcept;

  std::vector<std::string> documents_;
};

}  // namespace clusteraccess
