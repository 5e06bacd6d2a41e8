#include "clusteraccess/access_info.hpp"

#include <utility>

#include "secret_documents.hpp"

namespace clusteraccess {

AccessInfo::AccessInfo(std::vector<std::string> documents_in,
                       std::optional<std::string> certificate_serial_in, std::string principal_in) noexcept
    : documents(std::move(documents_in)),
      certificate_serial(std::move(certificate_serial_in)),
      principal(std::move(principal_in)) {}

AccessInfo::~AccessInfo() { wipe(documents); }

AccessInfo::AccessInfo(AccessInfo&& other) noexcept
    : documents(std::move(other.documents)),
      certificate_serial(std::move(other.certificate_serial)),
      principal(std::move(other.principal)) {
  // The vector's buffer moved here whole; nothing of the documents is left behind.
  other.documents.clear();
  other.certificate_serial.reset();
  other.principal.clear();
}

AccessInfo& AccessInfo::operator=(AccessInfo&& other) noexcept {
  if (this != &other) {
    wipe(documents);
    documents = std::move(other.documents);
    certificate_serial = std::move(other.certificate_serial);
    principal = std::move(other.principal);
    other.documents.clear();
    other.certificate_serial.reset();
    other.principal.clear();
  }
  return *this;
}

}  // namespace clusteraccess
