#include "master_key_file.hpp"

#include "private_file.hpp"

namespace clusteraccess::master_key_file {

namespace {

constexpr const char* kWhat = "master key file";

}  // namespace

MasterKey load(const std::string& path) {
  // A larger file is refused by `read` ("larger than expected"), a shorter
  // one by `from_bytes`.
  const SecretString raw = private_file::read(path, kWhat, MasterKey::kSize);
  return MasterKey::from_bytes(raw.view());
}

std::optional<MasterKey> find(const std::string& path) {
  if (!private_file::exists_and_is_ours(path, kWhat)) return std::nullopt;
  return load(path);
}

MasterKey load_or_create(const std::string& path) {
  if (auto key = find(path)) return std::move(*key);
  MasterKey key = MasterKey::generate();
  if (private_file::try_create(path, key.bytes(), kWhat)) return key;
  return load(path);  // another process published its key first: use that one
}

}  // namespace clusteraccess::master_key_file
