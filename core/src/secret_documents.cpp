#include "secret_documents.hpp"

#include <openssl/crypto.h>

#include <utility>

#include "fault_injection.hpp"

namespace clusteraccess {

void wipe(std::string& text) noexcept {
  // Growing to the capacity never reallocates; it makes the whole buffer,
  // including bytes past the current size, legitimately writable.
  text.resize(text.capacity());
  OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

void wipe(std::vector<std::string>& texts) noexcept {
  for (std::string& text : texts) wipe(text);
  texts.clear();
}

SecretDocuments::~SecretDocuments() { drop(); }

SecretDocuments::SecretDocuments(SecretDocuments&& other) noexcept
    : documents_(std::move(other.documents_)) {
  // A moved-from vector is empty: its buffer, and so every string, came here.
  other.documents_.clear();
}

SecretDocuments& SecretDocuments::operator=(SecretDocuments&& other) noexcept {
  if (this != &other) {
    drop();
    documents_ = std::move(other.documents_);
    other.documents_.clear();
  }
  return *this;
}

void SecretDocuments::push_back(std::string document) { documents_.push_back(std::move(document)); }

std::vector<std::string> SecretDocuments::release() noexcept {
  std::vector<std::string> out = std::move(documents_);
  documents_.clear();
  return out;
}

void SecretDocuments::drop() noexcept {
  if (documents_.empty()) return;
  wipe(documents_);
  // A hook set here must not throw: this runs in a destructor.
  fault::reached(fault::Point::kUnreturnedDocumentsWiped);
}

}  // namespace clusteraccess
